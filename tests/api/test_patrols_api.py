"""Patrols over the API: points, teams, offline batches of check-ins, attendance, coverage."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import h3
import pytest
from sqlalchemy import func, select

from grids.accounts.users import create_user
from grids.patrols.models import CheckIn, PatrolPoint
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def leader(case_env: CaseEnv) -> dict[str, str]:
    with case_env.store.transaction() as session:
        town = case_env.client.get(
            "/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON}
        ).json()["town"]["code"]
        _, token = create_user(session, "义警队长", "patrol_leader", scope_code=town)
    return {"Authorization": f"Bearer {token}", "town": town}


def auth(leader: dict[str, str]) -> dict[str, str]:
    return {"Authorization": leader["Authorization"]}


def test_points_are_located_in_their_grid_and_scoped(
    case_env: CaseEnv, leader: dict[str, str]
) -> None:
    client = case_env.client
    body = {
        "code": "KP-TEST",
        "name": "东城加油站",
        "kind": "key_point",
        "lat": DEMO_LAT,
        "lon": DEMO_LON,
        "must_visit": True,
    }
    created = client.post("/api/v1/patrols/points", json=body, headers=auth(leader))
    assert created.status_code == 201, created.text
    assert created.json()["properties"]["grid"] == case_env.demo_grid
    listed = client.get("/api/v1/patrols/points", headers=auth(leader)).json()["features"]
    assert "KP-TEST" in {f["id"] for f in listed}
    assert all(f["properties"]["town"] == leader["town"] for f in listed)
    far_lat, far_lon = case_env.other_point
    outside = client.post(
        "/api/v1/patrols/points",
        json=body | {"code": "KP-FAR", "lat": far_lat, "lon": far_lon},
        headers=auth(leader),
    )
    assert outside.status_code == 403
    with case_env.store.sessions() as session:  # refused means not written
        assert session.scalar(select(PatrolPoint).where(PatrolPoint.code == "KP-FAR")) is None
    bad = client.post("/api/v1/patrols/points", json=body | {"kind": "shop"}, headers=auth(leader))
    assert bad.status_code == 422 and "kind must be one of" in bad.json()["detail"]
    assert (
        client.post(
            "/api/v1/patrols/points", json=body, headers=case_env.headers("citizen")
        ).status_code
        == 403
    )


def test_offline_batch_uploaded_twice_counts_once_and_attendance_matches(
    case_env: CaseEnv, leader: dict[str, str]
) -> None:
    client = case_env.client
    team = f"{leader['town']}-T1"
    start = dt.datetime(2026, 11, 18, 9, 0, tzinfo=TZ)
    plan = [  # member, minutes after 09:00; M1 pauses 90 minutes (two shifts)
        ("M1", 0),
        ("M1", 10),
        ("M1", 25),
        ("M1", 115),
        ("M1", 130),
        ("M2", 5),
        ("M2", 20),
        ("M2", 35),
        ("M2", 50),
    ]
    batch = [
        {
            "member": f"{team}-{m}",
            "at": (start + dt.timedelta(minutes=t)).isoformat(),
            "lat": DEMO_LAT + 0.0001 * i,
            "lon": DEMO_LON,
        }
        for i, (m, t) in enumerate(plan)
    ]
    batch.reverse()  # the phone sends them in any order
    first = client.post(
        "/api/v1/patrols/checkins", json={"team": team, "checkins": batch}, headers=auth(leader)
    )
    assert first.json() == {"stored": len(plan), "duplicates": 0}
    again = client.post(
        "/api/v1/patrols/checkins", json={"team": team, "checkins": batch}, headers=auth(leader)
    )
    assert again.json() == {"stored": 0, "duplicates": len(plan)}
    with case_env.store.sessions() as session:
        stored = session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        assert [c.at for c in stored] == sorted(c.at for c in stored)  # ordered by their own time
    report = client.get(
        "/api/v1/patrols/attendance",
        params={"team": team, "date": "2026-11-18"},
        headers=auth(leader),
    ).json()
    # independently: M1 has shifts 09:00-09:25 and 10:55-11:10 (40 min), M2 09:05-09:50 (45 min)
    by_member = {m["member"]: m for m in report["members"]}
    assert by_member[f"{team}-M1"]["hours"] == pytest.approx(40 / 60, abs=0.01)
    assert len(by_member[f"{team}-M1"]["shifts"]) == 2
    assert by_member[f"{team}-M2"]["hours"] == pytest.approx(45 / 60, abs=0.01)
    assert report["hours"] == pytest.approx(85 / 60, abs=0.01)
    assert report["members_on_patrol"] == 2
    assert by_member[f"{team}-M1"]["checkins"] == 5
    other_day = client.get(
        "/api/v1/patrols/attendance",
        params={"team": team, "date": "2026-11-19"},
        headers=auth(leader),
    ).json()
    assert other_day["members"] == []


def test_checkin_errors_write_nothing(case_env: CaseEnv, leader: dict[str, str]) -> None:
    client = case_env.client
    team = f"{leader['town']}-T2"
    with case_env.store.sessions() as session:
        before = session.scalar(select(func.count()).select_from(CheckIn))
    good = {
        "member": f"{team}-M1",
        "at": "2026-11-18T10:00:00+08:00",
        "lat": DEMO_LAT,
        "lon": DEMO_LON,
    }
    for batch, message in [
        ([good, good | {"member": "stranger"}], "not members of team"),
        ([good, good | {"at": "2026-11-18T10:05:00+08:00", "lat": 95}], "outside [-90, 90]"),
        ([good | {"at": "2026-11-18T10:00:00"}], "time zone"),
        ([good | {"at": "2099-01-01T00:00:00+08:00"}], "in the future"),
    ]:
        response = client.post(
            "/api/v1/patrols/checkins", json={"team": team, "checkins": batch}, headers=auth(leader)
        )
        assert response.status_code == 422 and message in response.text
    with case_env.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CheckIn)) == before
    far = client.post(
        "/api/v1/patrols/checkins",
        json={"team": "DG01-T1", "checkins": [good]},
        headers=auth(leader),
    )
    assert far.status_code in (404, 422)


def test_coverage_per_cell(case_env: CaseEnv, leader: dict[str, str]) -> None:
    team = f"{leader['town']}-T2"
    now = dt.datetime.now(TZ).replace(microsecond=0)
    batch = [
        {
            "member": f"{team}-M2",
            "at": (now - dt.timedelta(minutes=m)).isoformat(),
            "lat": DEMO_LAT,
            "lon": DEMO_LON,
        }
        for m in (5, 15, 25)
    ]
    case_env.client.post(
        "/api/v1/patrols/checkins", json={"team": team, "checkins": batch}, headers=auth(leader)
    )
    cells = case_env.client.get(
        "/api/v1/patrols/coverage", params={"res": 9, "hours": 1}, headers=auth(leader)
    ).json()
    assert cells and cells[0]["visits"] >= 3
    assert (
        cells[0]["last_visit"][:16]
        == (now - dt.timedelta(minutes=5)).astimezone(dt.UTC).isoformat()[:16]
    )


def test_patrol_data_stays_in_its_town(case_env: CaseEnv, leader: dict[str, str]) -> None:
    """Issue 9, finding 11: a town's dispatcher can neither move, delete nor re-home another
    town's points and teams, nor read their attendance or check-in cells."""
    client = case_env.client
    mine, theirs = case_env.headers("dispatcher"), case_env.headers("far_dispatcher")
    admin = case_env.headers("admin")
    other_town = case_env.other_grid.split("-")[0]
    points = client.get("/api/v1/patrols/points", headers=admin).json()["features"]
    point = next(p for p in points if p["properties"]["town"] == other_town)
    code = point["id"]
    moved = client.post(
        "/api/v1/patrols/points",
        json={"code": code, "name": "挪走", "kind": "key_point", "lat": DEMO_LAT, "lon": DEMO_LON},
        headers=mine,
    )
    assert moved.status_code == 404, moved.text
    assert client.delete(f"/api/v1/patrols/points/{code}", headers=mine).status_code == 404
    after = client.get("/api/v1/patrols/points", headers=theirs).json()["features"]
    assert next(p for p in after if p["id"] == code) == point  # untouched
    team = f"{other_town}-T1"
    rehomed = client.post(
        "/api/v1/patrols/teams",
        json={"code": team, "name": "抢来", "town": leader["town"]},
        headers=mine,
    )
    assert rehomed.status_code == 404, rehomed.text
    day = {"team": team, "date": "2026-11-18"}
    assert client.get("/api/v1/patrols/attendance", params=day, headers=mine).status_code == 404
    assert client.get("/api/v1/patrols/attendance", params=day, headers=theirs).status_code == 200
    given = client.post(
        "/api/v1/patrols/teams",
        json={"code": "T-GIFT", "name": "送出", "town": other_town},
        headers=mine,
    )
    assert given.status_code == 403 and "outside your scope" in given.json()["detail"]
    lat, lon = case_env.other_point
    now = dt.datetime.now(TZ).replace(microsecond=0)
    batch = [{"member": f"{team}-M1", "at": now.isoformat(), "lat": lat, "lon": lon}]
    stored = client.post(
        "/api/v1/patrols/checkins", json={"team": team, "checkins": batch}, headers=theirs
    )
    assert stored.status_code == 200, stored.text
    params = {"res": 9, "hours": 1}
    cell = format(h3.str_to_int(h3.latlng_to_cell(lat, lon, 9)), "x")
    seen = {
        c["cell"]
        for c in client.get("/api/v1/patrols/coverage", params=params, headers=mine).json()
    }
    assert cell not in seen
    for who in (theirs, admin):
        seen = {
            c["cell"]
            for c in client.get("/api/v1/patrols/coverage", params=params, headers=who).json()
        }
        assert cell in seen
