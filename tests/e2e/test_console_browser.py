"""The dispatch console in a real browser (Debian's Chromium), with no internet."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from api.settings import Settings
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import make_users
from tests.conftest import Store
from tests.e2e.screenshots import publish
from tests.e2e.test_case_loop_http import _two_grids, serve

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs Debian's chromium")
def test_console_shows_the_queue_and_the_map_and_acts(city_store: Store, tmp_path: Path) -> None:
    if city_store.backend != "sqlite":
        pytest.skip("one backend is enough for the browser")
    settings = Settings(
        database_url=city_store.url,
        data_dir=tmp_path,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key="console",
    )
    with serve(settings) as base:
        tokens = make_users(city_store, *_two_grids(base))
        for category, dlat in (
            ("fire_exit_blocked", 0.0),
            ("garbage_piled", 0.002),
            ("illegal_parking", -0.002),
        ):
            created = httpx.post(
                f"{base}/api/v1/cases",
                json={
                    "lat": DEMO_LAT + dlat,
                    "lon": DEMO_LON + dlat,
                    "category": category,
                    "description": "巡查发现",
                },
                headers={"Authorization": f"Bearer {tokens['citizen']}"},
            )
            assert created.status_code == 201
        failed: list[str] = []
        errors: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 820})

            def guard(route) -> None:  # type: ignore[no-untyped-def]
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    failed.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/")
            page.fill("#token", tokens["dispatcher"])
            page.click("#login button")
            page.wait_for_selector("#queue tbody tr")
            rows = page.locator("#queue tbody tr")
            assert rows.count() >= 3
            assert page.locator("path.leaflet-interactive").count() >= 3  # case markers
            rows.first.click()
            page.wait_for_selector("#detail:not([hidden]) h2")
            assert "routed" in page.inner_text("#detail h2")
            page.click('#detail button:has-text("acknowledge")')
            page.wait_for_function(
                "document.querySelector('#detail h2').innerText.includes('acknowledged')"
            )
            page.click("#close-detail")
            page.wait_for_timeout(500)
            shot = tmp_path / "console.png"
            page.screenshot(path=str(shot))
            browser.close()
        assert not failed, failed
        assert not errors, errors
        assert shot.stat().st_size > 20_000
        publish(shot)
