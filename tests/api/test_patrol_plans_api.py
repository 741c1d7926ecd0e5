"""Patrol plans and coverage gaps through the API and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import gpxpy
import pandas as pd
import pytest
import shapely.geometry
from typer.testing import CliRunner

from api.cli import app as cli
from grids.accounts.users import create_user
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv, case_env_on
from tests.conftest import BACKENDS, build_history_city, make_store

SHIFT = "2026-11-23T19:00:00+08:00"


@pytest.fixture(scope="module", params=BACKENDS)
def case_env(
    request: pytest.FixtureRequest,
    sample_city_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CaseEnv]:
    """The case loop's app on a store with the sample year: plans go through its hot spots."""
    store = make_store(request.param, tmp_path_factory.mktemp("plans"), request)
    build_history_city(store, sample_city_dir)
    yield from case_env_on(store, sample_city_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def leader(case_env: CaseEnv) -> tuple[dict[str, str], str]:
    town = case_env.client.get("/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON}).json()[
        "town"
    ]["code"]
    with case_env.store.transaction() as session:
        _, token = create_user(session, "巡逻队长", "patrol_leader", scope_code=town)
    return {"Authorization": f"Bearer {token}"}, town


def travel_s(a: dict, b: dict, speed: float = 15, detour: float = 1.3) -> int:
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return math.ceil(2 * 6_371_008.8 * math.asin(math.sqrt(h)) * detour / (speed / 3.6))


def test_plan_through_the_towns_hot_spots_respects_the_shift(case_env: CaseEnv, leader) -> None:  # type: ignore[no-untyped-def]
    headers, _ = leader
    body = {
        "teams": [
            {
                "name": "一队",
                "start": {"lat": DEMO_LAT, "lon": DEMO_LON},
                "shift_start": SHIFT,
                "shift_minutes": 120,
            }
        ],
        "must_visit": [],
        "seed": 1,
        "time_limit_s": 2,
    }
    response = case_env.client.post("/api/v1/patrols/plans", json=body, headers=headers)
    assert response.status_code == 200, response.text
    plan = response.json()
    team = plan["teams"][0]
    assert team["stops"], "the town has hot spots to visit"
    assert plan["total_prize"] == pytest.approx(sum(s["prize"] for s in team["stops"]), abs=0.01)
    here = {"lat": DEMO_LAT, "lon": DEMO_LON}
    clock = dt.datetime.fromisoformat(SHIFT)
    for stop in team["stops"]:  # recompute every time from the formula
        clock += dt.timedelta(seconds=travel_s(here, stop))
        assert dt.datetime.fromisoformat(stop["arrive"]) == clock
        clock += dt.timedelta(minutes=12)
        assert dt.datetime.fromisoformat(stop["depart"]) == clock
        here = stop
    clock += dt.timedelta(seconds=travel_s(here, {"lat": DEMO_LAT, "lon": DEMO_LON}))
    assert clock <= dt.datetime.fromisoformat(SHIFT) + dt.timedelta(minutes=120)


def test_unreachable_must_visit_point_is_named(case_env: CaseEnv, leader) -> None:  # type: ignore[no-untyped-def]
    headers, _ = leader
    body = {
        "teams": [
            {
                "name": "一队",
                "start": {"lat": DEMO_LAT, "lon": DEMO_LON},
                "shift_start": SHIFT,
                "shift_minutes": 60,
            }
        ],
        "candidates": [{"id": "a", "lat": DEMO_LAT + 0.003, "lon": DEMO_LON, "prize": 3}],
        "must_visit": [{"id": "far", "name": "远方加油站", "lat": DEMO_LAT + 0.5, "lon": DEMO_LON}],
    }
    plan = case_env.client.post("/api/v1/patrols/plans", json=body, headers=headers).json()
    assert "远方加油站" in plan["dropped_must"]
    assert any("远方加油站" in w or "far" in w for w in plan["warnings"])


@pytest.mark.parametrize("fmt", ["gpx", "geojson", "html"])
def test_plan_formats(case_env: CaseEnv, leader, fmt: str) -> None:  # type: ignore[no-untyped-def]
    headers, _ = leader
    body = {
        "teams": [
            {
                "name": "A",
                "start": {"lat": DEMO_LAT, "lon": DEMO_LON},
                "shift_start": SHIFT,
                "shift_minutes": 90,
            }
        ],
        "candidates": [
            {"id": f"c{i}", "lat": DEMO_LAT + 0.002 * i, "lon": DEMO_LON, "prize": i}
            for i in range(1, 5)
        ],
        "must_visit": [],
        "format": fmt,
    }
    response = case_env.client.post("/api/v1/patrols/plans", json=body, headers=headers)
    assert response.status_code == 200
    if fmt == "gpx":
        gpx = gpxpy.parse(response.text)
        assert gpx.version == "1.1" and len(gpx.routes) == 1 and gpx.routes[0].points
    elif fmt == "geojson":
        for feature in response.json()["features"]:
            assert shapely.geometry.shape(feature["geometry"]).is_valid
    else:
        # a saved page renders from disk: every script and stylesheet inline, nothing linked
        assert "gw-route" in response.text and "L.map(" in response.text
        assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", response.text)


def test_gaps_list_unvisited_hot_cells_and_must_visit_points(case_env: CaseEnv, leader) -> None:  # type: ignore[no-untyped-def]
    headers, town = leader
    point = {
        "code": "MV-GAP",
        "name": "联防点甲",
        "kind": "joint_defence_point",
        "lat": DEMO_LAT,
        "lon": DEMO_LON,
        "must_visit": True,
    }
    assert (
        case_env.client.post("/api/v1/patrols/points", json=point, headers=headers).status_code
        == 201
    )
    gaps = case_env.client.get("/api/v1/patrols/gaps", params={"hours": 2}, headers=headers).json()
    assert "MV-GAP" in [p["code"] for p in gaps["points"]]
    assert gaps["cells"] and gaps["cells"][0]["gi_z"] >= gaps["cells"][-1]["gi_z"]  # worst first
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    checkin = {
        "team": f"{town}-T1",
        "checkins": [
            {"member": f"{town}-T1-M1", "at": now.isoformat(), "lat": DEMO_LAT, "lon": DEMO_LON}
        ],
    }
    assert (
        case_env.client.post("/api/v1/patrols/checkins", json=checkin, headers=headers).status_code
        == 200
    )
    after = case_env.client.get("/api/v1/patrols/gaps", params={"hours": 2}, headers=headers).json()
    assert "MV-GAP" not in [p["code"] for p in after["points"]]
    page = case_env.client.get("/maps/patrol-gaps", params={"hours": 2}, headers=headers)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_plan_refuses_bad_input(case_env: CaseEnv, leader) -> None:  # type: ignore[no-untyped-def]
    headers, _ = leader
    team = {
        "name": "A",
        "start": {"lat": DEMO_LAT, "lon": DEMO_LON},
        "shift_start": SHIFT,
        "shift_minutes": 90,
    }
    for body in (
        {"teams": []},
        {"teams": [team | {"shift_minutes": 0}]},
        {"teams": [team], "candidates": [{"id": "x", "lat": 95, "lon": DEMO_LON, "prize": 1}]},
        {"teams": [team | {"shift_start": "2026-11-23T19:00:00"}], "candidates": []},
    ):
        response = case_env.client.post("/api/v1/patrols/plans", json=body, headers=headers)
        assert response.status_code == 422, body
    assert (
        case_env.client.post(
            "/api/v1/patrols/plans", json={"teams": [team]}, headers=case_env.headers("citizen")
        ).status_code
        == 403
    )


def test_cli_plan_to_gpx_json_and_html(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(8)],
            "lat": [23.02 + 0.002 * i for i in range(8)],
            "lon": [113.75 + 0.001 * (i % 3) for i in range(8)],
            "prize": [1.0 + i for i in range(8)],
        }
    ).to_csv(tmp_path / "cand.csv", index=False)
    pd.DataFrame({"id": ["m1"], "name": ["联防点"], "lat": [23.025], "lon": [113.752]}).to_csv(
        tmp_path / "must.csv", index=False
    )
    runner = CliRunner()
    common = [
        "patrol",
        "plan",
        "--candidates",
        str(tmp_path / "cand.csv"),
        "--must",
        str(tmp_path / "must.csv"),
        "--teams",
        "2",
        "--start",
        "23.02,113.75",
        "--shift-minutes",
        "90",
        "--shift-start",
        SHIFT,
        "--dwell-minutes",
        "12",
        "--speed-kmh",
        "15",
        "--detour",
        "1.3",
        "--time-limit",
        "2",
    ]
    for name in ("plan.json", "plan.gpx", "plan.html", "plan.geojson"):
        result = runner.invoke(cli, [*common, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert {"teams", "total_prize", "dropped"} <= set(plan)
    assert any(s["id"] == "m1" for t in plan["teams"] for s in t["stops"])  # the must-visit point
    assert gpxpy.parse((tmp_path / "plan.gpx").read_text()).routes
    assert (tmp_path / "plan_files" / "vendor").is_dir()
    bad = runner.invoke(cli, [*common[:-2], "--start", "north", "--out", str(tmp_path / "x.json")])
    assert bad.exit_code == 2 and "LAT,LON" in bad.output
    pd.DataFrame({"id": ["a"], "lat": [23.0], "lon": [113.7]}).to_csv(
        tmp_path / "noprize.csv", index=False
    )
    missing = runner.invoke(
        cli,
        [
            "patrol",
            "plan",
            "--candidates",
            str(tmp_path / "noprize.csv"),
            "--must",
            str(tmp_path / "must.csv"),
            "--start",
            "23.02,113.75",
            "--out",
            str(tmp_path / "y.json"),
        ],
    )
    assert missing.exit_code == 2 and "no column 'prize'" in missing.output


def test_cli_imports_patrol_points_all_or_nothing(case_env: CaseEnv, tmp_path: Path) -> None:
    import geopandas as gpd
    from sqlalchemy import select

    from grids.patrols.models import PatrolPoint

    env = {
        "GRIDWATCH_DATABASE_URL": case_env.settings.database_url,
        "GRIDWATCH_DATA_DIR": str(case_env.settings.data_dir),
    }
    points = gpd.GeoDataFrame(
        {
            "ID": ["IMP-1", "IMP-2"],
            "NAME": ["学校门口", "加油站"],
            "TYPE": ["key_point", "security_post"],
            "MUST": [True, False],
        },
        geometry=gpd.points_from_xy([DEMO_LON, DEMO_LON + 0.001], [DEMO_LAT, DEMO_LAT]),
        crs=4326,
    )
    points.to_file(tmp_path / "points.geojson")
    args = [
        "patrol",
        "import-points",
        str(tmp_path / "points.geojson"),
        "--code-field",
        "ID",
        "--name-field",
        "NAME",
        "--kind-field",
        "TYPE",
        "--must-field",
        "MUST",
    ]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    with case_env.store.sessions() as session:
        stored = session.scalar(select(PatrolPoint).where(PatrolPoint.code == "IMP-1"))
        assert stored is not None and stored.must_visit and stored.grid_id is not None
    points.loc[1, "TYPE"] = "shop"
    points.loc[0, "ID"] = "IMP-3"
    points.to_file(tmp_path / "bad.geojson")
    bad = CliRunner().invoke(cli, [*args[:2], str(tmp_path / "bad.geojson"), *args[3:]], env=env)
    assert bad.exit_code == 2 and "kind must be one of" in bad.output
    with case_env.store.sessions() as session:
        assert session.scalar(select(PatrolPoint).where(PatrolPoint.code == "IMP-3")) is None
