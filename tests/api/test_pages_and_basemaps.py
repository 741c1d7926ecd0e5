"""The pages' sign-in, their configuration, the favicon, and the basemap settings and tiles."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings
from grids.errors import InvalidInput
from tests.api.conftest import CaseEnv
from tests.tiles_support import build_mbtiles, build_pmtiles, tile_png, tiles_around

HTML = {"Accept": "text/html,application/xhtml+xml"}
LAT, LON = 23.02, 113.75


def test_a_page_without_a_session_is_the_sign_in_page_and_json_stays_json(
    case_env: CaseEnv,
) -> None:
    client = case_env.client
    for path in ("/console", "/officer", "/report", "/maps/hotspots", "/reports/week"):
        page = client.get(path, headers=HTML)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'id="signin"' in page.text and "bearer token" in page.text, path
        script = client.get(path, headers={"Accept": "application/json"})
        assert script.status_code == 401 and script.json()["detail"], path
    client.cookies.set("gridwatch_token", "not-a-token")
    assert "unknown or revoked token" in client.get("/console", headers=HTML).text
    client.cookies.clear()


def test_each_face_is_for_its_roles(case_env: CaseEnv) -> None:
    client = case_env.client
    for who, path in (("dispatcher", "/console"), ("officer", "/officer"), ("citizen", "/report")):
        client.cookies.set("gridwatch_token", case_env.tokens[who])
        page = client.get(path, headers=HTML)
        assert page.status_code == 200 and 'id="signin"' not in page.text, who
        assert f'"name": "{who}"' in page.text and '"basemap": null' in page.text
    client.cookies.set("gridwatch_token", case_env.tokens["citizen"])
    wrong = client.get("/console", headers=HTML)
    assert 'id="signin"' in wrong.text and "your page is /report" in wrong.text
    client.cookies.clear()


def test_the_session_cookie_reads_but_never_acts(case_env: CaseEnv) -> None:
    case = case_env.report()
    client = case_env.client
    client.cookies.set("gridwatch_token", case_env.tokens["dispatcher"])
    refused = client.post(f"/api/v1/cases/{case['id']}/acknowledge", json={})
    assert refused.status_code == 401  # a forged cross-site form could not act
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 401
    client.cookies.clear()


def test_the_favicon_is_an_icon(case_env: CaseEnv) -> None:
    icon = case_env.client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.content)).format == "ICO"


def _app(tmp_path: Path, **basemap: object) -> TestClient:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
        data_dir=tmp_path,
        secret_key="tiles",
        **basemap,  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings))  # no lifespan: tiles need no store


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
def test_a_tile_archive_is_served_by_gridwatch(tmp_path: Path, kind: str) -> None:
    archive = tmp_path / f"city.{kind}"
    (build_mbtiles if kind == "mbtiles" else build_pmtiles)(archive, LAT, LON, span=0.05)
    client = _app(tmp_path, basemap_file=archive, basemap_crs="gcj02")
    z, x, y = tiles_around(LAT, LON, 0.05)[-1]
    tile = client.get(f"/basemap/{z}/{x}/{y}")
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"
    assert tile.content == tile_png(z, x, y)  # the very tile, XYZ rows (MBTiles keeps TMS)
    assert client.get(f"/basemap/{z}/{x + 50}/{y}").status_code == 204  # not in the archive
    assert client.get("/basemap/3/9/9").status_code == 204  # no such tile at all
    state = client.app.state  # type: ignore[attr-defined]
    assert state.basemap.url == "/basemap/{z}/{x}/{y}" and state.basemap.crs == "gcj02"
    assert (state.basemap.min_zoom, state.basemap.max_zoom) == (10, 13)
    assert state.basemap.bounds == pytest.approx((LON - 0.05, LAT - 0.05, LON + 0.05, LAT + 0.05))


def test_without_an_archive_there_are_no_tiles(tmp_path: Path) -> None:
    missing = _app(tmp_path).get("/basemap/12/3342/1779")
    assert missing.status_code == 404 and "GRIDWATCH_BASEMAP_FILE" in missing.json()["detail"]


def test_a_vector_archive_is_refused_at_start(tmp_path: Path) -> None:
    archive = tmp_path / "vector.mbtiles"
    build_mbtiles(archive, LAT, LON, span=0.01, fmt="pbf")
    with pytest.raises(InvalidInput, match="raster tiles only"):
        _app(tmp_path, basemap_file=archive)


@pytest.mark.parametrize(
    ("basemap", "message"),
    [
        ({"basemap_crs": "bd09"}, "unknown basemap crs 'bd09'"),
        ({"basemap_url": "http://tiles.lan/tiles.png"}, "needs {z}, {x} and {y}"),
        ({"basemap_file": "nowhere.mbtiles"}, "does not exist"),
        ({"basemap_file": "tiles.zip"}, "must be .mbtiles or .pmtiles"),
        (
            {"basemap_url": "http://t/{z}/{x}/{y}", "basemap_file": "a.mbtiles"},
            "not both",
        ),
    ],
)
def test_bad_basemap_settings_say_what_to_fix(basemap: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        Settings(**basemap)


def test_serve_refuses_a_basemap_it_cannot_draw(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    archive = tmp_path / "vector.mbtiles"
    build_mbtiles(archive, LAT, LON, span=0.01, fmt="pbf")
    env = {
        "GRIDWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'gw.db'}",
        "GRIDWATCH_DATA_DIR": str(tmp_path),
        "GRIDWATCH_BASEMAP_FILE": str(archive),
    }
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2 and "raster tiles only" in result.output
    env["GRIDWATCH_BASEMAP_FILE"] = str(tmp_path / "missing.pmtiles")
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 2 and "does not exist" in result.output
