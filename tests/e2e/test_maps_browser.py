"""The maps in a real browser with no internet: headless Chromium, every request that
leaves localhost blocked (and any attempt fails the test), no failed request, no
console error, and the hexagons drawn. Takes the README's screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

import tests.e2e.test_case_loop_http as case_loop_http
from tests.analytics_support import analytics_app, samples_dir_for, settings_for
from tests.conftest import HISTORY_SECRET, HistoryCity
from tests.e2e.conftest import Visit, watched_page
from tests.e2e.screenshots import publish

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(
    history_city: HistoryCity, sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """The service on a socket over the sample city and its year of cases, the demo
    planner's token and a town."""
    tmp = tmp_path_factory.mktemp("maps_browser")
    store = history_city.store
    settings = settings_for(store, tmp, samples_dir_for(sample_city_dir, tmp), HISTORY_SECRET)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(case_loop_http, "create_app", lambda s: analytics_app(s))
        with case_loop_http.serve(settings) as base:
            yield base, history_city.token("planner"), "DG20"


def visit(
    browser: Any,
    base: str,
    token: str,
    path: str,
    *,
    wait_for: str | None = None,
    screenshot: Path | None = None,
    idle: bool = True,
) -> tuple[Visit, Any]:
    """Open ``path`` with the token in a cookie (as a browser would), blocking every
    request that is not to the service; returns what happened and the page."""
    seen = Visit()
    host = urlparse(base).hostname
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_cookies([{"name": "gridwatch_token", "value": token, "url": base}])
    page = context.new_page()

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if urlparse(url).hostname in (host, "localhost") or url.startswith("data:"):
            request_route.continue_()
        else:
            seen.outside.append(f"{request_route.request.resource_type} {url}")
            # answered here, never sent: Chromium 156 counts an aborted tile as in flight
            # for ever, so the page would never reach "networkidle"
            request_route.fulfill(status=404, body="")

    page.route("**/*", route)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("requestfailed", lambda r: seen.failed.append(f"{r.resource_type} {r.url}"))
    page.on(
        "response",
        lambda r: (
            seen.failed.append(f"{r.status} {r.url}")
            if r.status >= 400
            else seen.loaded.append(r.url)
        ),
    )
    response = page.goto(base + path, wait_until="load")
    assert response is not None and response.status == 200, path
    if wait_for is not None:
        page.wait_for_function(
            f"document.querySelectorAll({wait_for!r}).length > 0", timeout=20_000
        )
    if idle:
        page.wait_for_load_state("networkidle")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    return seen, page


def field_cells(base: str, token: str, **params: Any) -> int:
    """How many cells the API says the field has: the Gi* layer draws each of them."""
    body = httpx.get(
        f"{base}/api/v1/hotspots",
        params=params,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return len(body["features"])


@pytest.mark.parametrize("history_city", ["sqlite"], indirect=True)
def test_hotspot_map_renders_offline_with_its_hexagons(
    live: Any, browser: Any, tmp_path: Path
) -> None:
    base, token, _ = live
    shot = tmp_path / "hotspot-map.png"
    query = "res=8&basemap=none&lang=en"  # the whole city
    seen, page = visit(
        browser, base, token, f"/maps/hotspots?{query}", wait_for="path.gw-hex-gi", screenshot=shot
    )
    assert seen.outside == [], seen.outside
    assert seen.failed == [] and seen.errors == [], (seen.failed, seen.errors)
    scripts = [u for u in seen.loaded if u.endswith((".js", ".css"))]
    assert any("leaflet.js" in u for u in scripts) and any("leaflet.css" in u for u in scripts)
    assert any("leaflet.markercluster.js" in u for u in scripts)  # the cases' clusters
    hexagons = page.locator("path.gw-hex-gi").count()
    assert hexagons == field_cells(base, token, res=8) > 1000
    assert page.locator(".marker-cluster, path.gw-case").count() > 0
    assert page.locator("path.gw-towns").count() >= 1
    assert page.locator(".gw-legend").inner_text().startswith("Hot spot analysis")
    assert page.locator(".leaflet-control-layers-overlays label").count() >= 4
    page.context.close()
    assert shot.stat().st_size > 20_000
    publish(shot)


@pytest.mark.parametrize("history_city", ["sqlite"], indirect=True)
def test_fetched_hexagons_emerging_and_public_maps_render_offline(live: Any, browser: Any) -> None:
    base, token, town = live
    pages = [
        (
            f"/maps/hotspots?res=9&unit={town}&basemap=none&inline=false&lang=en",
            "path.gw-hex-gi",
        ),
        ("/maps/emerging?res=8&basemap=none", "path.gw-hex-emerging"),
        (
            "/public/maps/hotspots?res=8&basemap=none&since=2026-01-01&until=2026-07-01",
            "path.gw-hex-count",
        ),
    ]
    for path, selector in pages:
        seen, page = visit(browser, base, token, path, wait_for=selector)
        assert seen.outside == [] and seen.failed == [] and seen.errors == [], (path, seen)
        if "inline=false" in path:
            assert any("/maps/data/hotspots.geojson" in u for u in seen.loaded)
            drawn = page.locator(selector).count()
            assert drawn == field_cells(base, token, res=9, unit=town)
        page.context.close()


def test_with_a_configured_tile_server_only_its_tiles_leave(
    history_city: HistoryCity, sample_city_dir: Path, tmp_path: Path, browser: Any
) -> None:
    """GRIDWATCH_BASEMAP_URL: the map asks that server for tile images and nothing else."""
    samples = samples_dir_for(sample_city_dir, tmp_path)
    settings = settings_for(history_city.store, tmp_path, samples, HISTORY_SECRET)
    settings = settings.model_copy(
        update={"basemap_url": "http://tiles.intranet.test/{z}/{x}/{y}.png"}
    )
    token = history_city.token("planner")
    with case_loop_http.serve(settings) as base:
        # the tiles' own load events are the wait: a page whose tiles never load need
        # not be "network idle" in every Chromium
        seen, page = visit(
            browser, base, token, "/maps/hotspots?res=8", wait_for=".leaflet-tile", idle=False
        )
        for _ in range(100):
            if seen.outside:
                break
            page.wait_for_timeout(100)
        assert seen.outside, "the configured tile server should have been asked for tiles"
        assert all(
            kind == "image" and url.startswith("http://tiles.intranet.test/")
            for kind, url in (entry.split(" ", 1) for entry in seen.outside)
        ), seen.outside
        page.context.close()


def test_patrol_plan_map_renders_offline_from_disk(browser: Any, tmp_path: Path) -> None:
    """The HTML a patrol leader saves with ``gridwatch patrol plan --out plan.html`` opens
    from disk with no internet: every script and stylesheet beside it, routes drawn."""
    from typer.testing import CliRunner

    from api.cli import app as cli

    candidates = tmp_path / "cand.csv"
    candidates.write_text(
        "id,lat,lon,prize\n"
        + "".join(f"c{i},{23.02 + 0.002 * i},113.75,{1 + i}\n" for i in range(6))
    )
    must = tmp_path / "must.csv"
    must.write_text("id,name,lat,lon\nm1,联防点,23.025,113.752\n")
    out = tmp_path / "plan.html"
    result = CliRunner().invoke(
        cli,
        [
            "patrol",
            "plan",
            "--candidates",
            str(candidates),
            "--must",
            str(must),
            "--teams",
            "2",
            "--start",
            "23.02,113.75",
            "--shift-minutes",
            "90",
            "--shift-start",
            "2026-11-23T19:00:00+08:00",
            "--time-limit",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    seen, page = watched_page(browser, lambda url: url.startswith(("file://", "data:")))
    page.goto(out.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('path.gw-route').length > 0", timeout=20_000)
    assert page.locator("path.gw-route").count() >= 1
    assert page.locator("path.gw-stop").count() >= 3
    assert not seen.outside and not seen.failed and not seen.errors, seen
    page.close()
