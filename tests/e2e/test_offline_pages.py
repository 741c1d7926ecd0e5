"""Pages that must work with no internet, in a real browser with every outside request blocked:
the API documentation (Swagger UI at /docs, ReDoc at /redoc), served even before the store is
initialised, and a route plan saved from the API's HTML and opened from disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from api.routers.patrol_plans import render_plan
from api.settings import Settings
from geo.maps.page import MapOptions
from geo.patrol.plan import Candidate, MustVisit, Team, plan_routes
from tests.e2e.conftest import watched_page
from tests.e2e.test_case_loop_http import serve

pytestmark = pytest.mark.e2e
#: ReDoc 2's bundle hard-codes this logo; the page's CSP refuses it inside the browser, so
#: the request never leaves (the route below sees it not) and the logo hides itself.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_api_docs_render_offline_before_the_store_is_initialised(
    browser: Any, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'never-initialised.db'}",
        data_dir=tmp_path,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key="docs",
    )
    with serve(settings) as base:
        host = urlparse(base).hostname
        for path, selector, text in (
            ("/docs", ".swagger-ui .opblock-summary-path", "/api/v1/locate"),
            ("/redoc", "[data-section-id]", "locate"),
        ):
            seen, page = watched_page(
                browser,
                lambda url: urlparse(url).hostname == host or url.startswith(("data:", "blob:")),
            )
            page.goto(base + path, wait_until="load")
            page.wait_for_selector(selector, timeout=30_000)
            assert text in page.inner_text("body").lower() or text in page.inner_text("body")
            page.wait_for_load_state("networkidle")
            assert not seen.outside, (path, seen)
            refused = REDOC_LOGO if path == "/redoc" else "(nothing)"
            assert not [m for m in seen.failed + seen.errors if refused not in m], (path, seen)
            page.close()
    assert not (tmp_path / "never-initialised.db").exists()


def test_a_plan_saved_from_the_api_renders_from_disk(browser: Any, tmp_path: Path) -> None:
    shift = dt.datetime(2026, 11, 23, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    plan = plan_routes(
        [Candidate(f"c{i}", 23.02 + 0.002 * i, 113.75, 1 + i, f"热点 {i}") for i in range(5)],
        [MustVisit("m1", "联防点", 23.025, 113.752)],
        [Team("T1", 23.02, 113.75, shift, 90)],
        time_limit_s=2,
    )
    saved = tmp_path / "plan.html"
    saved.write_bytes(render_plan(plan, "html", None, MapOptions()).body)  # what the API answers
    seen, page = watched_page(browser, lambda url: url.startswith(("file://", "data:")))
    page.goto(saved.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('path.gw-stop').length > 0", timeout=20_000)
    assert page.locator("path.gw-route").count() == 1
    assert page.locator("path.gw-stop").count() == sum(len(t.stops) for t in plan.teams) >= 3
    assert not seen.outside and not seen.failed and not seen.errors, seen
    page.close()
