"""What the browser tests share: Debian's Chromium, launched once per module, never a
browser of Playwright's own (``make test`` installs it, see scripts/ensure-browser.sh)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What a page did: requests that tried to leave, failures, console errors."""

    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)


def watched_page(browser: Any, allowed: Callable[[str], bool]) -> tuple[Visit, Any]:
    """A page that blocks (and records) every request ``allowed(url)`` refuses."""
    seen = Visit()
    page = browser.new_page(viewport={"width": 1200, "height": 800})

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if allowed(url):
            request_route.continue_()
        else:
            seen.outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("requestfailed", lambda r: seen.failed.append(f"{r.resource_type} {r.url}"))
    return seen, page
