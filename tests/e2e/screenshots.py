"""Where the browser tests may write the README's screenshots: only when asked.

``make screenshots`` (or ``GRIDWATCH_SCREENSHOTS=docs/screenshots pytest ...``) names the
directory; a plain test run writes nothing into the tracked tree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = "GRIDWATCH_SCREENSHOTS"


def screenshot_dir() -> Path | None:
    """The directory asked for in ``GRIDWATCH_SCREENSHOTS``, or None."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def save_screenshots(out_dir: Path | None, pages: dict[str, Any]) -> list[Path]:
    """Screenshot each page (name → Playwright page) as ``out_dir/<name>.png``; nothing
    when ``out_dir`` is None. Returns the files written."""
    if out_dir is None:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, page in pages.items():
        path = out_dir / f"{name}.png"
        page.screenshot(path=str(path))
        written.append(path)
    return written
