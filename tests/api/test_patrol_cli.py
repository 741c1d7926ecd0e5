"""``gridwatch patrol plan`` as a patrol leader uses it: their own candidates plan on their own,
with no store; must-visit points only when asked; named stops; GPX for phones on Amap."""

from __future__ import annotations

import json
from pathlib import Path

import gpxpy
import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.crs import from_wgs84
from geo.patrol.plan import Candidate
from tests.conftest import Store
from tests.geo.test_patrol_plan import SHIFT_START, exact_one_team, random_candidates, team

runner = CliRunner()
START = "23.02,113.75"


def plan(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``gridwatch patrol plan`` with an empty data directory (no store anywhere)."""
    env = {"GRIDWATCH_DATA_DIR": str(tmp_path / "data")}
    result = runner.invoke(app, ["patrol", "plan", *args], env=env)
    assert not (tmp_path / "data" / "gridwatch.db").exists(), "a store was created"
    return result.exit_code, result.output


def write_candidates(path: Path, rows: list[tuple[str, float, float, float, str]]) -> Path:
    path.write_text(
        "id,name,lat,lon,prize\n" + "".join(f"{i},{n},{a},{b},{p}\n" for i, a, b, p, n in rows)
    )
    return path


@pytest.mark.parametrize("seed", range(8))
def test_own_candidates_without_a_store_reach_the_exact_optimum(seed: int, tmp_path: Path) -> None:
    """Random single-team instances of 7-10 candidates, only --candidates, --start and --out
    (and the shift): the plan holds exactly those candidates and its prize is the optimum of
    a dynamic programme over subsets (tests/geo/test_patrol_plan.py, written independently)."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(7, 11))
    minutes = int(rng.integers(45, 150))
    cands = [
        Candidate(c.id, round(c.lat, 6), round(c.lon, 6), c.prize)
        for c in random_candidates(1000 + seed, n, integer_prizes=bool(seed % 2))
    ]
    path = tmp_path / "mine.csv"
    path.write_text(
        "id,lat,lon,prize\n" + "".join(f"{c.id},{c.lat!r},{c.lon!r},{c.prize!r}\n" for c in cands)
    )
    out = tmp_path / "plan.json"
    code, output = plan(
        tmp_path,
        "--candidates",
        str(path),
        "--start",
        START,
        "--shift-start",
        SHIFT_START.isoformat(),
        "--shift-minutes",
        str(minutes),
        "--out",
        str(out),
    )
    assert code == 0, output
    result = json.loads(out.read_text())
    visited = [s["id"] for t in result["teams"] for s in t["stops"]]
    assert set(visited) | set(result["dropped"]) == {c.id for c in cands}
    assert not any(s["must"] for t in result["teams"] for s in t["stops"])
    assert result["dropped_must"] == [] and result["warnings"] == []
    best_prize, _ = exact_one_team(cands, team(minutes=minutes))
    assert result["total_prize"] == pytest.approx(best_prize, abs=1e-9)


def test_an_empty_must_file_is_no_must_visit_point(tmp_path: Path) -> None:
    cands = write_candidates(tmp_path / "c.csv", [("c1", 23.021, 113.751, 2, "东门")])
    for content in ("", "id,name,lat,lon\n"):
        must = tmp_path / "must.csv"
        must.write_text(content)
        out = tmp_path / "plan.json"
        code, output = plan(
            tmp_path,
            "--candidates",
            str(cands),
            "--must",
            str(must),
            "--start",
            START,
            "--out",
            str(out),
        )
        assert code == 0, output
        assert [s["id"] for t in json.loads(out.read_text())["teams"] for s in t["stops"]] == ["c1"]


def test_stops_and_waypoints_carry_their_names(tmp_path: Path) -> None:
    cands = write_candidates(
        tmp_path / "c.csv",
        [
            ("c1", 23.021, 113.751, 2, "东门"),
            ("c2", 23.024, 113.753, 3, ""),
        ],
    )
    must = tmp_path / "must.csv"
    must.write_text("id,name,lat,lon\nm1,警民联防点,23.022,113.752\n")
    common = ["--candidates", str(cands), "--must", str(must), "--start", START]
    assert plan(tmp_path, *common, "--out", str(tmp_path / "plan.json"))[0] == 0
    assert plan(tmp_path, *common, "--out", str(tmp_path / "plan.gpx"))[0] == 0
    stops = {
        s["id"]: s
        for t in json.loads((tmp_path / "plan.json").read_text())["teams"]
        for s in t["stops"]
    }
    assert stops["c1"]["name"] == "东门" and stops["c2"]["name"] == "c2"  # no name: the id
    assert stops["m1"]["name"] == "警民联防点" and stops["m1"]["must"]
    gpx = gpxpy.parse((tmp_path / "plan.gpx").read_text())
    names = sorted(w.name for w in gpx.waypoints)
    assert len(names) == 3
    assert any(n.endswith(" 东门") for n in names) and any(n.endswith(" 警民联防点") for n in names)


def test_gcj02_in_gives_gpx_in_gcj02_for_amap(tmp_path: Path) -> None:
    """Stops picked on Amap (GCJ-02) come back in GCJ-02 on the phone; JSON too; the plan
    itself is computed in WGS-84, so its travel equals the WGS-84 plan's."""
    wgs = [(23.021, 113.751), (23.024, 113.753), (23.018, 113.747)]
    lat, lon = from_wgs84(np.array([p[0] for p in wgs]), np.array([p[1] for p in wgs]), "gcj02")
    gcj = list(zip(lat.tolist(), lon.tolist(), strict=True))
    start_lat, start_lon = (float(v) for v in from_wgs84(23.02, 113.75, "gcj02"))
    rows = [(f"c{i}", a, b, 1 + i, f"点{i}") for i, (a, b) in enumerate(gcj)]
    cands = write_candidates(tmp_path / "gcj.csv", rows)
    gcj_start = f"{start_lat!r},{start_lon!r}"
    for suffix in ("gpx", "json"):
        code, output = plan(
            tmp_path,
            "--candidates",
            str(cands),
            "--start",
            gcj_start,
            "--crs",
            "gcj02",
            "--out",
            str(tmp_path / f"plan.{suffix}"),
        )
        assert code == 0, output
    gpx = gpxpy.parse((tmp_path / "plan.gpx").read_text())
    by_name = {w.name.split(" ", 2)[-1]: (w.latitude, w.longitude) for w in gpx.waypoints}
    for _, a, b, _, name in rows:
        assert by_name[name] == pytest.approx((a, b), abs=1e-6)
    route = gpx.routes[0].points
    assert (route[0].latitude, route[0].longitude) == pytest.approx(
        (start_lat, start_lon), abs=1e-6
    )
    as_json = json.loads((tmp_path / "plan.json").read_text())
    assert as_json["crs"] == "gcj02"
    for stop in as_json["teams"][0]["stops"]:
        assert (stop["lat"], stop["lon"]) == pytest.approx(
            next((a, b) for i, a, b, _, _ in rows if i == stop["id"]), abs=1e-6
        )
    wgs_rows = [(f"c{i}", a, b, 1 + i, f"点{i}") for i, (a, b) in enumerate(wgs)]
    wgs_cands = write_candidates(tmp_path / "wgs.csv", wgs_rows)
    code, _ = plan(
        tmp_path,
        "--candidates",
        str(wgs_cands),
        "--start",
        START,
        "--out",
        str(tmp_path / "wgs.json"),
    )
    travel = json.loads((tmp_path / "wgs.json").read_text())["teams"][0]["travel_s"]
    assert code == 0 and abs(as_json["teams"][0]["travel_s"] - travel) <= 2


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("id;lat;lon;prize\nc1;23,021;113,751;2,5\n", [], None),  # sniffed: it plans
        ("id,lat,lon\nc1,23.021,113.751\n", [], "--candidates {path}: no column 'prize'"),
        ("id,lat,lon,prize\nc1,23.021,113.751,high\n", [], "row 1 has no numeric prize"),
        ("id,lat,lon,prize\nc1,23.02,113.75,1\n", ["--start", "north"], "LAT,LON"),
        ("id,lat,lon,prize\nc1,23.02,113.75,1\n", ["--shift-start", "tonight"], "ISO time"),
        (
            "id,lat,lon,prize\nc1,23.02,113.75,1\n",
            ["--shift-start", "2026-11-23T19:00:00"],
            "needs a time zone offset",
        ),
        ("id;lat;lon;prize\nc1;23.02;113.75;1\n", ["--sep", ","], "pass --sep"),
    ],
)
def test_bad_candidates_are_one_line_and_exit_2(
    tmp_path: Path, content: str, args: list[str], message: str | None
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content)
    out = tmp_path / "plan.json"
    options = {"--start": START, **dict(zip(args[::2], args[1::2], strict=True))}
    flat = [x for pair in options.items() for x in pair]
    code, output = plan(tmp_path, "--candidates", str(path), *flat, "--out", str(out))
    if message is None:
        assert code == 0, output
        assert json.loads(out.read_text())["total_prize"] == pytest.approx(2.5)
        return
    assert code == 2, output
    assert message.format(path=path) in output and len(output.strip().splitlines()) == 1
    assert "lat_col=" not in output and not out.exists()


@pytest.mark.parametrize("city_store", ["sqlite"], indirect=True)
def test_must_from_unit_adds_the_stores_points_of_that_town(
    city_store: Store, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from grids.city.models import Unit
    from grids.patrols.models import PatrolPoint

    with city_store.sessions() as session:
        town = session.scalar(select(Unit).where(Unit.code == "DG20"))
        assert town is not None
        wanted = set(
            session.scalars(
                select(PatrolPoint.code).where(
                    PatrolPoint.must_visit.is_(True), PatrolPoint.town_id == town.id
                )
            )
        )
    assert wanted
    cands = write_candidates(tmp_path / "c.csv", [("c1", 23.021, 113.751, 2, "东门")])
    env = {"GRIDWATCH_DATABASE_URL": city_store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "patrol",
            "plan",
            "--candidates",
            str(cands),
            "--must-from-unit",
            "DG20",
            "--start",
            START,
            "--shift-minutes",
            "600",
            "--out",
            str(out),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    plan_json = json.loads(out.read_text())
    planned = {s["id"] for t in plan_json["teams"] for s in t["stops"] if s["must"]}
    dropped = set(plan_json["dropped_must"])
    assert planned and planned <= wanted and len(planned) + len(dropped) == len(wanted)
