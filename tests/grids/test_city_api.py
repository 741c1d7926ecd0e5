"""The planners' Python API (``grids.City``) on both backends: frames with the columns it
documents and none that identify a reporter, read-only, and the service's own numbers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.settings import Settings
from grids import City
from grids.errors import NotFound
from tests.conftest import HISTORY_SECRET, HistoryCity

WEEK = "2026-11-02"  # a full week near the end of the history
IDENTITY = {"reporter", "reporter_id", "contact", "submitted_by_id", "description", "member_id"}


@pytest.fixture(scope="module")
def city(history_city: HistoryCity) -> Iterator[City]:
    with City.open(history_city.store.url) as opened:
        yield opened


@pytest.fixture(scope="module")
def api(history_city: HistoryCity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    settings = Settings(
        database_url=history_city.store.url,
        data_dir=tmp_path_factory.mktemp("city_api"),
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key=HISTORY_SECRET,
    )
    headers = {"Authorization": f"Bearer {history_city.token('planner')}"}
    with TestClient(create_app(settings)) as client:

        def get(path: str, **params: Any) -> Any:
            response = client.get(path, params=params, headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

        yield get


def test_open_refuses_a_missing_store_and_reads_the_environment(
    history_city: HistoryCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotFound):
        City.open(tmp_path / "nothing.db")
    assert not (tmp_path / "nothing.db").exists()
    monkeypatch.delenv("GRIDWATCH_DATABASE_URL", raising=False)
    with pytest.raises(NotFound, match="GRIDWATCH_DATABASE_URL"):
        City.open()
    monkeypatch.setenv("GRIDWATCH_DATABASE_URL", history_city.store.url)
    with City.open() as city:
        assert len(city.units("town")) > 0


def test_the_store_is_read_only(city: City) -> None:
    with city._session() as session, pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM cases"))
        session.flush()


def test_units_carry_their_town_and_outline(city: City) -> None:
    grids = city.units()
    towns = city.units(level="town")
    assert grids.crs.to_epsg() == 4326 and towns.crs.to_epsg() == 4326
    assert set(grids["town"]) <= set(towns["code"])
    assert grids.geometry.notna().all() and grids["code"].is_unique
    with pytest.raises(ValueError):
        city.units(level="street")


def test_cases_have_cells_and_codes_and_no_identity(city: City, history_city: HistoryCity) -> None:
    cases = city.cases()
    assert len(cases) == len(history_city.written) > 0
    assert cases.crs.to_epsg() == 4326
    assert not IDENTITY & set(cases.columns)
    assert {"h3_cell", "grid", "town", "category", "status", "officer"} <= set(cases.columns)
    assert cases["h3_cell"].str.len().eq(15).all()
    town = cases["town"].mode().iloc[0]
    category = cases["category"].mode().iloc[0]
    some = city.cases(unit=town, category=category, status="closed")
    assert len(some) > 0
    assert (some["town"] == town).all() and (some["category"] == category).all()
    assert (some["status"] == "closed").all()
    week = city.cases(since=WEEK, until=dt.date(2026, 11, 9))
    local = week["reported_at"].dt.tz_convert(city.timezone).dt.date
    assert local.min() >= dt.date(2026, 11, 2) and local.max() <= dt.date(2026, 11, 8)


def test_checkins_and_patrol_points(city: City, history_city: HistoryCity) -> None:
    checkins = city.checkins()
    assert len(checkins) == history_city.checkins > 0
    assert not IDENTITY & set(checkins.columns)
    assert {"at", "team", "point", "h3_cell", "grid", "town"} <= set(checkins.columns)
    points = city.patrol_points()
    assert len(points) > 0 and {"code", "kind", "h3_cell", "grid", "town"} <= set(points.columns)
    town = points["town"].dropna().iloc[0]
    assert (city.patrol_points(unit=town)["town"] == town).all()
    assert (city.checkins(unit=town)["town"] == town).all()


def test_a_weeks_numbers_equal_the_services(city: City, api: Any) -> None:
    mine = city.summary("week", WEEK)
    theirs = api("/api/v1/summaries", period="week", date=WEEK)
    assert mine == theirs
    received = mine["counts"]["received"]
    assert received > 0
    assert received == len(city.cases(since=WEEK, until="2026-11-09"))
    town = mine["by_unit"][0]["code"]
    assert city.summary("week", WEEK, town) == api(
        "/api/v1/summaries", period="week", date=WEEK, unit=town
    )


def test_a_cells_gi_z_equals_the_services(city: City, api: Any) -> None:
    params: dict[str, Any] = {"since": "2026-08-01", "until": "2026-11-01", "res": 8, "k": 1}
    mine = city.hotspots(**params)
    theirs = api("/api/v1/hotspots", **params)
    assert mine.crs.to_epsg() == 4326 and mine.attrs["meta"]["reports"] > 0
    by_cell = {f["properties"]["cell"]: f["properties"] for f in theirs["features"]}
    assert len(by_cell) == len(mine)
    hottest = mine.sort_values("gi_z", ascending=False).iloc[0]
    assert hottest["gi_z"] == pytest.approx(by_cell[hottest["cell"]]["gi_z"], abs=1e-6)
    assert hottest["class"] == by_cell[hottest["cell"]]["class"]


def test_emerging_equals_the_services(city: City, api: Any) -> None:
    params = {"since": "2026-06-01", "until": "2026-11-01", "res": 7, "freq": "week"}
    mine = city.emerging(since="2026-06-01", until="2026-11-01", res=7, freq="week")
    theirs = api("/api/v1/hotspots/emerging", **params)
    patterns = {f["properties"]["cell"]: f["properties"]["pattern"] for f in theirs["features"]}
    assert dict(zip(mine["cell"], mine["pattern"], strict=True)) == patterns


def test_categories(city: City) -> None:
    categories = city.categories()
    assert categories["code"].is_unique and len(categories) > 5


def test_import_grids_stays_light() -> None:
    code = (
        "import sys, grids; heavy = {'geopandas', 'sqlalchemy', 'grids.planning_api'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
