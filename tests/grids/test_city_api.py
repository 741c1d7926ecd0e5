"""The planners' Python API (``grids.City``) on both backends: frames with the columns it
documents and none that identify a reporter, read-only, and the service's own numbers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.settings import Settings
from grids import City
from grids.errors import InvalidInput, NotFound
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

        def post(path: str, body: dict[str, Any]) -> Any:  # plans are an admin's, not a planner's
            admin = {"Authorization": f"Bearer {history_city.token('admin')}"}
            response = client.post(path, json=body, headers=admin)
            assert response.status_code == 200, response.text
            return response.json()

        get.post = post  # type: ignore[attr-defined]
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


def _expected_hours(
    city: City, since: dt.datetime, until: dt.datetime
) -> dict[tuple[str, str], float]:
    """Hours on duty per (officer, grid) from the roster rows, one occurrence at a time."""
    query = text(
        "SELECT p.code, u.code, r.weekdays, r.start_time, r.end_time, r.valid_from, "
        "r.valid_until FROM roster_entries r JOIN people p ON p.id = r.person_id "
        "JOIN units u ON u.id = r.unit_id WHERE u.level = 'grid'"
    )
    with city._session() as session:  # closed, or the schema's DROP waits for its lock
        rows = session.execute(query).all()
    tz = ZoneInfo(city.timezone)
    hours: dict[tuple[str, str], float] = defaultdict(float)
    for officer, grid, weekdays, start, end, valid_from, valid_until in rows:
        start, end = (
            v if isinstance(v, dt.time) else dt.time.fromisoformat(v) for v in (start, end)
        )
        valid_from = (
            valid_from if isinstance(valid_from, dt.date) else dt.date.fromisoformat(valid_from)
        )
        if valid_until is not None and not isinstance(valid_until, dt.date):
            valid_until = dt.date.fromisoformat(valid_until)
        day = since.astimezone(tz).date() - dt.timedelta(days=1)
        while day <= until.astimezone(tz).date():
            if (
                str(day.isoweekday()) in weekdays
                and valid_from <= day
                and (valid_until is None or day <= valid_until)
            ):
                begin = dt.datetime.combine(day, start, tz)
                finish = dt.datetime.combine(day + dt.timedelta(days=end <= start), end, tz)
                overlap = (min(finish, until) - max(begin, since)).total_seconds()
                if overlap > 0:
                    hours[(officer, grid)] += overlap / 3600
            day += dt.timedelta(days=1)
    return dict(hours)


def test_officer_hours_are_the_rosters(city: City) -> None:
    tz = ZoneInfo(city.timezone)
    since = dt.datetime(2026, 11, 2, tzinfo=tz)
    until = dt.datetime(2026, 11, 9, 12, tzinfo=tz)  # half a day at the end: clipped shifts
    frame = city.officer_hours(since, until)
    assert list(frame.columns) == ["officer", "grid", "community", "town", "shifts", "hours"]
    assert len(frame) > 0 and (frame["hours"] > 0).all()
    mine = {(r.officer, r.grid): r.hours for r in frame.itertuples()}
    expected = _expected_hours(city, since, until)
    assert mine.keys() == expected.keys()
    for key, value in expected.items():
        assert mine[key] == pytest.approx(value, abs=1e-9), key
    town = frame["town"].iloc[0]
    assert (city.officer_hours(since, until, unit=town)["town"] == town).all()
    with pytest.raises(InvalidInput):
        city.officer_hours(None, until)


def test_hotspots_of_some_hours(city: City) -> None:
    window = {"since": "2026-08-01", "until": "2026-11-01", "res": 8}
    whole = city.hotspots(**window)
    assert city.hotspots(**window, hours=(0, 24))["gi_z"].equals(whole["gi_z"])
    night = city.hotspots(**window, hours=(20, 6))
    cases = city.cases(since=window["since"], until=window["until"])
    counted = cases[
        cases["duplicate_of"].isna() & ~cases["reject_reason"].isin(["invalid", "duplicate"])
    ]
    hour = counted["reported_at"].dt.tz_convert(city.timezone).dt.hour
    assert (
        night["count"].sum() == ((hour >= 20) | (hour < 6)).sum() == night.attrs["meta"]["reports"]
    )
    assert night.attrs["meta"]["hours"] == "20:00-06:00"
    with pytest.raises(InvalidInput):
        city.hotspots(**window, hours=(6, 6))


def test_a_patrol_plan_is_the_services(city: City, api: Any) -> None:
    window = {"since": "2026-08-01", "until": "2026-11-01"}
    town = city.cases(**window)["town"].mode().iloc[0]
    points = city.patrol_points(unit=town)
    start = points.geometry.iloc[0]
    shift = "2026-11-02T20:00:00"
    planned = city.patrol_plan(
        shift, 240, [(start.y, start.x)], unit=town, seed=3, time_limit_s=20, **window
    )
    hot = city.hotspots(unit=town, res=9, k=1, **window)
    strong = hot[hot["gi_bin"] >= 2].set_index("cell")["gi_z"]
    cells = planned.hot_cells.set_index("cell")["gi_z"]
    assert len(cells) > 0 and cells.sort_index().equals(strong.sort_index())
    stops = planned.stops
    assert set(stops.loc[stops["kind"] == "hot cell", "id"]) == set(
        planned.hot_cells.loc[planned.hot_cells["planned"], "cell"]
    )
    must = set(points.loc[points["must_visit"], "code"])
    assert must == set(stops.loc[stops["kind"] == "must visit", "id"]) | set(planned.dropped_must)
    begins = pd.Timestamp(shift, tz=city.timezone)
    assert (stops["arrive"] >= begins).all()
    assert (stops["depart"] <= begins + pd.Timedelta(minutes=240)).all()
    body = {
        "unit": town,
        "teams": [
            {
                "name": "T1",
                "start": {"lat": start.y, "lon": start.x},
                "shift_start": begins.isoformat(),
                "shift_minutes": 240,
            }
        ],
        "since": "2026-08-01T00:00:00+08:00",
        "until": "2026-11-01T00:00:00+08:00",
        "seed": 3,
        "time_limit_s": 20,
    }
    theirs = api.post("/api/v1/patrols/plans", body)
    if not planned.plan.timed_out:
        ids = [s["id"] for t in theirs["teams"] for s in t["stops"]]
        assert list(stops["id"]) == ids
        assert planned.total_prize == pytest.approx(theirs["total_prize"])
