"""Where the browser tests' screenshots go: the test's temporary directory, and into the
README's pictures only when asked (``make screenshots`` sets GRIDWATCH_TEST_SCREENSHOTS to
docs/screenshots), so ``make test`` never rewrites tracked files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SCREENSHOTS_ENV = "GRIDWATCH_TEST_SCREENSHOTS"


def publish(shot: Path) -> None:
    """Copy ``shot`` (same name) into the directory of ``GRIDWATCH_TEST_SCREENSHOTS``, if set."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / shot.name)
