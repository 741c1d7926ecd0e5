"""The HTTP API on the sample city, on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.geometry
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from geo.crs import from_wgs84, to_wgs84
from grids.city.locator import GridLocator
from grids.db import head_revision
from grids.samples import DEMO_LAT, DEMO_LON
from tests.conftest import Store

WEDNESDAY_10 = "2026-11-18T10:00:00+08:00"
SUNDAY_03 = "2026-11-22T03:00:00+08:00"


def settings_for(store: Store, tmp_path: Path) -> Settings:
    return Settings(database_url=store.url, data_dir=tmp_path)


@pytest.fixture(scope="module")
def client(city_store: Store, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    app = create_app(settings_for(city_store, tmp_path_factory.mktemp("data")))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("when", [WEDNESDAY_10, SUNDAY_03])
def test_demo_point_answers_with_grid_town_and_officer_on_duty(
    client: TestClient, when: str
) -> None:
    body = client.get(
        "/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON, "at": when}
    ).json()
    assert body["match"] == "inside"
    assert body["grid"]["level"] == "grid" and body["grid"]["code"].startswith(body["town"]["code"])
    assert body["town"]["name"] == "南城街道"
    assert [u["level"] for u in body["path"]] == ["city", "town", "community", "grid"]
    assert body["assignee"]["kind"] == "officer" and body["officer"]["name"]
    assert body["at"].startswith(when[:16])


def test_category_names_the_department(client: TestClient) -> None:
    body = client.get(
        "/api/v1/locate",
        params={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "fire_exit_blocked"},
    ).json()
    assert body["category"]["code"] == "fire_exit_blocked"
    assert body["department"]["code"] == "fire_rescue"


def test_gcj02_and_bd09_points_route_like_their_wgs84_originals(
    client: TestClient, sample_city_dir: Path
) -> None:
    reports = pd.read_parquet(sample_city_dir / "reports.parquet").sample(25, random_state=3)
    for lat, lon in zip(reports.lat, reports.lon, strict=True):
        want = client.get("/api/v1/locate", params={"lat": lat, "lon": lon}).json()
        for crs in ("gcj02", "bd09"):
            clat, clon = from_wgs84(lat, lon, crs)
            got = client.get(
                "/api/v1/locate", params={"lat": float(clat), "lon": float(clon), "crs": crs}
            ).json()
            assert (got["grid"], got["match"]) == (want["grid"], want["match"])
            assert got["lat"] == pytest.approx(lat, abs=1e-8)


def test_point_far_outside_goes_to_the_city_dispatch_centre(client: TestClient) -> None:
    body = client.get("/api/v1/locate", params={"lat": 22.0, "lon": 113.0}).json()
    assert (body["match"], body["grid"], body["assignee"]["kind"]) == (
        "outside",
        None,
        "city_dispatch",
    )
    assert body["assignee"]["unit"]["code"] == "DG"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lat": "nan", "lon": 113.75}, "lat must be a number in [-90, 90], got nan"),
        ({"lat": 95, "lon": 113.75}, "lat must be a number in [-90, 90], got 95"),
        ({"lat": 23, "lon": "inf"}, "lon must be a number in [-180, 180]"),
        ({"lat": 23, "lon": 113.75, "crs": "utm"}, "unknown coordinate system 'utm'"),
        ({"lat": 23, "lon": 113.75, "category": "graffiti"}, "unknown category 'graffiti'"),
    ],
)
def test_bad_input_gets_a_clear_422(client: TestClient, params: dict, message: str) -> None:
    response = client.get("/api/v1/locate", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_unparseable_values_are_422_in_one_line(client: TestClient) -> None:
    response = client.get("/api/v1/locate", params={"lat": "north", "lon": 113.75})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "lat: Input should be a valid number, unable to parse string as a number (got 'north')"
    )
    response = client.get("/api/v1/locate", params={"lat": 23, "lon": 113.75, "at": "yesterday"})
    assert response.status_code == 422
    assert (
        response.json()["detail"].startswith("at: ") and "'yesterday'" in response.json()["detail"]
    )
    response = client.get("/api/v1/locate", params={"lon": 113.75})
    assert response.status_code == 422 and response.json()["detail"] == "lat: Field required"


def test_grids_as_geojson_by_level_and_bbox(client: TestClient) -> None:
    towns = client.get("/api/v1/grids", params={"level": "town"}).json()
    assert towns["type"] == "FeatureCollection" and len(towns["features"]) == 35
    bbox = (113.74, 23.01, 113.76, 23.03)
    grids = client.get("/api/v1/grids", params={"bbox": ",".join(map(str, bbox))}).json()
    assert grids["features"]
    box = shapely.box(*bbox)
    for feature in grids["features"]:
        assert feature["properties"]["level"] == "grid"
        assert shapely.geometry.shape(feature["geometry"]).intersects(box)
    all_grids = client.get("/api/v1/grids").json()["features"]
    expected = {f["id"] for f in all_grids if shapely.geometry.shape(f["geometry"]).intersects(box)}
    assert {f["id"] for f in grids["features"]} == expected


@pytest.mark.parametrize(
    "params", [{"bbox": "1,2,3"}, {"bbox": "114,23,113,24"}, {"level": "province"}]
)
def test_bad_grid_queries_are_refused(client: TestClient, params: dict) -> None:
    response = client.get("/api/v1/grids", params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",
        "store": "ok",
        "schema": head_revision(),
        "locate": "ok",
    }


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/locate", "/api/v1/grids", "/healthz"} <= set(paths)


def test_empty_store_says_what_to_do(store: Store, tmp_path: Path) -> None:
    with TestClient(create_app(settings_for(store, tmp_path))) as empty:
        response = empty.get("/api/v1/locate", params={"lat": 23, "lon": 113.75})
    assert response.status_code == 503
    assert "gridwatch samples build" in response.json()["detail"]


def test_many_converted_points_route_identically_in_bulk(
    city_store: Store, sample_city_dir: Path, tmp_path: Path
) -> None:
    reports = pd.read_parquet(sample_city_dir / "reports.parquet")
    with city_store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    want = locator.locate_many(reports.lat.to_numpy(), reports.lon.to_numpy())
    for crs in ("gcj02", "bd09"):
        lat, lon = from_wgs84(reports.lat.to_numpy(), reports.lon.to_numpy(), crs)
        back_lat, back_lon = to_wgs84(lat, lon, crs)
        got = locator.locate_many(back_lat, back_lon)
        np.testing.assert_array_equal(got.index, want.index)
