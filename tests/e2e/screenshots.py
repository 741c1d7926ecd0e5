"""Where the browser tests' screenshots go: the test's temporary directory, and into the
README's pictures only when asked (``make screenshots`` sets GRIDWATCH_TEST_SCREENSHOTS to
docs/screenshots), so ``make test`` never rewrites tracked files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

SCREENSHOTS_ENV = "GRIDWATCH_TEST_SCREENSHOTS"


def screenshot_dir() -> Path | None:
    """The directory asked for in ``GRIDWATCH_TEST_SCREENSHOTS``, or None."""
    value = os.environ.get(SCREENSHOTS_ENV, "").strip()
    return Path(value) if value else None


def publish(shot: Path) -> None:
    """Copy ``shot`` (same name) into the directory of ``GRIDWATCH_TEST_SCREENSHOTS``, if set."""
    target = screenshot_dir()
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / shot.name)


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
