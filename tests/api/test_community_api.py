"""The community's own forces over HTTP, on both backends: volunteers and who sees their
names, service hours from check-ins and duty, stars with reasons, points and the mall
under concurrency, buildings, a 30-point operation, and the ledgers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from grids.accounts.users import create_user
from grids.city.models import Unit
from grids.community.models import PointsEntry, Redemption
from grids.events import LiveEvent
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Community:
    env: CaseEnv
    town: str
    community: str
    town_id: int
    team: str

    def headers(self, who: str) -> dict[str, str]:
        return self.env.headers(who)

    def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        return self.env.client.get(path, params=params, headers=self.headers(who))

    def post(self, path: str, who: str = "admin", body: Any = None, **params: Any) -> Any:
        return self.env.client.post(path, json=body, params=params, headers=self.headers(who))

    def volunteer(self, code: str, **fields: Any) -> dict[str, Any]:
        body = {
            "code": code,
            "kind": "义警",
            "name": f"王{code}",
            "phone": "13900000000",
            "unit": self.community,
            "team": self.team,
            **fields,
        }
        response = self.post("/api/v1/volunteers", "admin", body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def com(case_env: CaseEnv) -> Iterator[Community]:
    with case_env.store.transaction() as session:
        demo = session.scalar(select(Unit).where(Unit.code == case_env.demo_grid))
        assert demo is not None and demo.parent is not None and demo.parent.parent is not None
        town, community = demo.parent.parent, demo.parent
        _, token = create_user(session, "义警队长", "patrol_leader", scope_code=town.code)
        case_env.tokens["leader"] = token
        town_code, community_code, town_id = town.code, community.code, town.id
    team = case_env.client.post(
        "/api/v1/patrols/teams",
        json={"code": "VT1", "name": "志愿巡逻队", "town": town_code},
        headers=case_env.headers("admin"),
    )
    assert team.status_code == 201, team.text
    yield Community(case_env, town_code, community_code, town_id, "VT1")


def _month(at: dt.datetime) -> str:
    return at.astimezone(TZ).strftime("%Y-%m")


# ----------------------------------------------------------------- who sees a name
def test_only_admins_and_the_units_managers_see_a_volunteers_name_and_phone(
    com: Community,
) -> None:
    created = com.volunteer("V001", phone="13812345678")
    assert created["name"] == "王V001" and created["pseudonym"].startswith("志愿者-")
    for who in ("admin", "dispatcher", "leader"):
        seen = com.get("/api/v1/volunteers/V001", who).json()
        assert seen["name"] == "王V001" and seen["phone"] == "13812345678", who
    for who in ("officer", "planner"):
        response = com.get("/api/v1/volunteers/V001", who)
        assert response.status_code == 200, (who, response.text)
        assert "王V001" not in response.text and "13812345678" not in response.text, who
        assert response.json()["pseudonym"] == created["pseudonym"]
        listed = com.get("/api/v1/volunteers", who, team=com.team)
        assert "王V001" not in listed.text and "13812345678" not in listed.text, who
    assert com.get("/api/v1/volunteers/V001", "far_dispatcher").status_code == 404
    # the team's attendance knows the member by the pseudonym only
    attendance = com.get(
        "/api/v1/patrols/attendance", "planner", team=com.team, date=dt.date.today().isoformat()
    )
    assert "王V001" not in attendance.text


def test_a_csv_import_is_all_or_nothing_with_the_rejected_rows(com: Community) -> None:
    header = "code,kind,name,phone,unit,team,skills\n"
    bad = (
        header
        + f"C001,义警,李一,13800000001,{com.community},{com.team},急救;消防\n"
        + f"C002,巡查员,李二,,{com.community},,\n"
        + f"C003,yijing,李三,,{com.env.demo_grid},,\n"
    )
    refused = com.env.client.post(
        "/api/v1/volunteers/import", content=bad.encode(), headers=com.headers("dispatcher")
    )
    assert refused.status_code == 422, refused.text
    rejected = refused.json()["rejected"]
    assert [r["row"] for r in rejected] == [3, 4]
    assert "unknown volunteer kind" in rejected[0]["reason"] and "grid" in rejected[1]["reason"]
    assert com.get("/api/v1/volunteers/C001").status_code == 404, "nothing was imported"
    far = com.env.client.post(
        "/api/v1/volunteers/import",
        content=(header + f"C001,义警,李一,,{com.community},,\n").encode(),
        headers=com.headers("far_dispatcher"),
    )
    assert far.status_code == 422 and "not a unit you manage" in far.text
    good = com.env.client.post(
        "/api/v1/volunteers/import",
        content=(header + f"C001,义警,李一,13800000001,{com.community},{com.team},急救;消防\n"),
        headers=com.headers("dispatcher"),
    )
    assert good.status_code == 200 and good.json()["imported"] == 1, good.text
    assert com.get("/api/v1/volunteers/C001").json()["skills"] == ["急救", "消防"]


# -------------------------------------------------- hours, stars, points, the mall
def _past_shift(now: dt.datetime, hours_back: int) -> tuple[dt.datetime, dt.datetime]:
    start = (now - dt.timedelta(hours=hours_back)).replace(minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(hours=2)


def test_hours_come_from_check_ins_event_duty_and_activities(com: Community) -> None:
    com.volunteer("V100")
    now = dt.datetime.now(TZ)
    walk = now - dt.timedelta(hours=5)
    batch = [
        {
            "member": "V100",
            "at": (walk + dt.timedelta(minutes=10 * k)).isoformat(),
            "lat": DEMO_LAT,
            "lon": DEMO_LON,
        }
        for k in range(10)
    ]  # 90 minutes of patrol, one run
    stored = com.post("/api/v1/patrols/checkins", "leader", {"team": com.team, "checkins": batch})
    assert stored.status_code == 200 and stored.json()["stored"] == 10, stored.text
    start, end = _past_shift(now, 3)
    op = {
        "code": "OP-HOURS",
        "name": "马拉松安保",
        "town": com.town,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "points": [
            {"code": "P1", "name": "起点", "lat": DEMO_LAT, "lon": DEMO_LON, "headcount": 1}
        ],
        "shifts": [{"code": "S1", "starts_at": start.isoformat(), "ends_at": end.isoformat()}],
    }
    assert com.post("/api/v1/operations", "leader", op).status_code == 201
    checkin = {
        "volunteer": "V100",
        "at": (end - dt.timedelta(hours=1)).isoformat(),
        "lat": DEMO_LAT + 0.0003,
        "lon": DEMO_LON,
    }
    duty = com.post("/api/v1/operations/OP-HOURS/checkins", "leader", {"checkins": [checkin]})
    assert duty.status_code == 200 and duty.json()["stored"] == 1, duty.text
    activity = com.post(
        "/api/v1/volunteers/V100/activities",
        "leader",
        {"started_at": (now - dt.timedelta(hours=8)).isoformat(), "hours": 2, "note": "培训"},
    )
    assert activity.status_code == 201, activity.text
    hours = com.get(
        "/api/v1/volunteers/V100/hours",
        "officer",
        since=(now - dt.timedelta(days=1)).isoformat(),
        until=(now + dt.timedelta(minutes=1)).isoformat(),
    )
    assert hours.status_code == 200, hours.text
    assert hours.json() | {"volunteer": None} == {
        "code": "V100",
        "volunteer": None,
        "patrol": 1.5,
        "duty": 1.0,
        "activity": 2.0,
        "total": 4.5,
    }


def test_stars_follow_hours_and_evaluations_with_the_reasons(com: Community) -> None:
    com.volunteer("V200")
    now = dt.datetime.now(TZ)
    for hours in (20, 22):  # 42 h, this month
        body = {"started_at": (now - dt.timedelta(minutes=5)).isoformat(), "hours": hours}
        assert com.post("/api/v1/volunteers/V200/activities", "leader", body).status_code == 201
    rating = com.get("/api/v1/volunteers/V200/rating", "officer", month=_month(now)).json()
    assert rating["stars"] == 2 and "no evaluations" in rating["reason"]  # 3★ needs a score
    for score in (5, 5, 4, 4, 5):
        body = {"score": score, "note": "值守认真"}
        assert com.post("/api/v1/volunteers/V200/evaluations", "leader", body).status_code == 201
    assert (
        com.post("/api/v1/volunteers/V200/evaluations", "officer", {"score": 5}).status_code == 403
    ), "officers are no team leaders"
    rating = com.get("/api/v1/volunteers/V200/rating", "officer", month=_month(now)).json()
    assert rating["stars"] == 4 and rating["shown"] == "★★★★"
    assert rating["reason"].startswith("42 h this year, mean evaluation 4.6 → ★★★★")
    assert "★★★★★ needs 80 h" in rating["reason"]


def test_a_redemption_short_of_points_fails_cleanly(com: Community) -> None:
    com.volunteer("V300")
    now = dt.datetime.now(TZ)
    body = {"started_at": (now - dt.timedelta(minutes=5)).isoformat(), "hours": 12}
    assert com.post("/api/v1/volunteers/V300/activities", "leader", body).status_code == 201
    credited = com.post("/api/v1/points/hours", "admin", month=_month(now))
    assert credited.status_code == 200, credited.text
    again = com.post("/api/v1/points/hours", "admin", month=_month(now))
    assert again.json()["credited"] == 0, "a month's hours are credited once"
    item = {"code": "GIFT-BIG", "name": "电饭煲", "cost": 100, "stock": 3}
    assert com.post("/api/v1/mall/items", "admin", item).status_code == 201
    short = com.post("/api/v1/mall/redeem", "leader", {"item": "GIFT-BIG", "volunteer": "V300"})
    assert short.status_code == 409, short.text
    assert "costs 100 points; the balance is 24" in short.json()["detail"]
    items = {i["code"]: i for i in com.get("/api/v1/mall/items", "citizen").json()}
    assert items["GIFT-BIG"]["stock"] == 3, "a refused redemption takes no stock"
    small = {"code": "GIFT-SMALL", "name": "雨伞", "cost": 20, "stock": 5}
    assert com.post("/api/v1/mall/items", "admin", small).status_code == 201
    done = com.post("/api/v1/mall/redeem", "leader", {"item": "GIFT-SMALL", "volunteer": "V300"})
    assert done.status_code == 201 and done.json()["balance"] == 4, done.text
    statement = com.get(
        "/api/v1/points/statement", "dispatcher", volunteer="V300", month=_month(now)
    ).json()
    assert [(e["source"], e["points"]) for e in statement["entries"]] == [
        ("hours", 24),
        ("redemption", -20),
    ]
    assert statement["closing"] == statement["balance"] == 4
    assert "12.0 h of service" in statement["entries"][0]["reason"]
    board = com.get("/api/v1/points/leaderboard", "citizen", month=_month(now), town=com.town)
    assert board.status_code == 200 and "王V300" not in board.text
    assert any(row["points"] == 24 for row in board.json())


def test_twenty_concurrent_redemptions_of_the_last_item_one_succeeds(com: Community) -> None:
    com.volunteer("V400")
    now = dt.datetime.now(TZ)
    body = {"started_at": (now - dt.timedelta(minutes=5)).isoformat(), "hours": 24}
    assert com.post("/api/v1/volunteers/V400/activities", "leader", body).status_code == 201
    assert com.post("/api/v1/points/hours", "admin", month=_month(now)).status_code == 200
    item = {"code": "LAST-ONE", "name": "保温杯", "cost": 10, "stock": 1}
    assert com.post("/api/v1/mall/items", "admin", item).status_code == 201

    def attempt(_: int) -> int:
        return com.post(
            "/api/v1/mall/redeem", "leader", {"item": "LAST-ONE", "volunteer": "V400"}
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert sorted(statuses) == [201] + [409] * 19, statuses
    items = {i["code"]: i for i in com.get("/api/v1/mall/items").json()}
    assert items["LAST-ONE"]["stock"] == 0
    with com.env.store.sessions() as session:
        redemptions = session.scalars(select(Redemption).where(Redemption.cost == 10)).all()
        debits = session.scalars(
            select(PointsEntry).where(PointsEntry.source == "redemption", PointsEntry.delta == -10)
        ).all()
    assert len(redemptions) == 1 and len(debits) == 1
    statement = com.get("/api/v1/points/statement", volunteer="V400", month=_month(now)).json()
    assert statement["balance"] == 48 - 10 == statement["closing"]


def test_a_verified_report_credits_the_reporters_points_in_the_same_ledger(
    com: Community,
) -> None:
    body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "fire_exit_blocked"}
    case = com.post("/api/v1/cases", "other_citizen", body).json()
    for action, extra in (
        ("acknowledge", {}),
        ("verify", {"valid": True, "lat": DEMO_LAT, "lon": DEMO_LON}),
    ):
        fresh = com.get(f"/api/v1/cases/{case['id']}").json()
        done = com.post(
            f"/api/v1/cases/{case['id']}/{action}", "admin", {"version": fresh["version"], **extra}
        )
        assert done.status_code == 200, done.text
    mine = com.get("/api/v1/my/points", "other_citizen", month=_month(dt.datetime.now(TZ)))
    assert mine.status_code == 200, mine.text
    [entry] = [e for e in mine.json()["entries"] if f"#{case['id']}" in e["reason"]]
    assert entry["source"] == "report" and entry["points"] == 10
    assert com.get(f"/api/v1/cases/{case['id']}", "other_citizen").json()["reward"]["points"] == 10


# ---------------------------------------------------------------------- buildings
def test_buildings_have_heads_inspections_and_the_cases_reported_at_them(
    com: Community,
) -> None:
    com.volunteer("H001", kind="楼栋长", team=None, name="赵楼长")
    body = {
        "code": "B001",
        "name": "幸福楼",
        "address": "南城幸福路1号",
        "units": 24,
        "lat": DEMO_LAT + 0.0004,
        "lon": DEMO_LON,
        "head": "H001",
    }
    created = com.post("/api/v1/buildings", "dispatcher", body)
    assert created.status_code == 201, created.text
    assert created.json()["grid"] == com.env.demo_grid
    case = com.post(
        "/api/v1/cases",
        "citizen",
        {"lat": DEMO_LAT + 0.00043, "lon": DEMO_LON, "category": "garbage_piled"},
    ).json()
    seen = com.get("/api/v1/buildings/B001", "officer").json()
    assert case["id"] in seen["cases"], "a case reported 3 m away is linked"
    assert seen["head"].startswith("志愿者-") and "赵楼长" not in str(seen)
    today = dt.datetime.now(TZ).date()
    old = {"on": (today - dt.timedelta(days=100)).isoformat(), "findings": "消防通道堵塞"}
    inspected = com.post("/api/v1/buildings/B001/inspections", "officer", old)
    assert inspected.status_code == 201, inspected.text
    assert inspected.json()["next_due"] == (today - dt.timedelta(days=10)).isoformat()
    counts = {r["grid"]: r for r in com.get("/api/v1/buildings/counts", "dispatcher").json()}
    assert counts[com.env.demo_grid]["overdue"] >= 1 and counts[com.env.demo_grid]["units"] >= 24
    layer = com.get("/api/v1/buildings", "officer").json()
    assert "B001" in {f["id"] for f in layer["features"]}
    assert com.get("/api/v1/buildings/B001", "far_dispatcher").status_code == 404


# --------------------------------------------------------------------- operations
def test_an_operation_of_30_points_and_3_shifts(com: Community) -> None:
    header = "code,kind,name,phone,unit,team,skills\n"
    rows = "".join(f"D{n:03d},平安志愿者,钱{n},,{com.community},,\n" for n in range(30))
    imported = com.env.client.post(
        "/api/v1/volunteers/import", content=header + rows, headers=com.headers("leader")
    )
    assert imported.status_code == 200, imported.text
    now = dt.datetime.now(TZ)
    start = (now - dt.timedelta(hours=8)).replace(minute=0, second=0, microsecond=0)
    shifts = [
        {
            "code": f"S{k + 1}",
            "starts_at": (start + dt.timedelta(hours=2 * k)).isoformat(),
            "ends_at": (start + dt.timedelta(hours=2 * k + 2)).isoformat(),
        }
        for k in range(3)
    ]
    points = [
        {
            "code": f"K{n:02d}",
            "name": f"卡点{n}",
            "lat": DEMO_LAT + 0.003 * (n // 6),
            "lon": DEMO_LON + 0.003 * (n % 6),
            "headcount": 2,
        }
        for n in range(30)
    ]
    op = {
        "code": "OP-30",
        "name": "国庆安保",
        "town": com.town,
        "fresh_minutes": 30,
        "starts_at": start.isoformat(),
        "ends_at": (start + dt.timedelta(hours=6)).isoformat(),
        "points": points,
        "shifts": shifts,
    }
    assert com.post("/api/v1/operations", "leader", op).status_code == 201
    roster = {"volunteer": "D000", "point": "K00", "shift": "S1"}
    assert com.post("/api/v1/operations/OP-30/roster", "leader", roster).status_code == 201

    # shift 1: K00-K09 two each (staffed), K10-K19 one (understaffed), K20-K29 none (empty)
    # shift 2: K00-K14 one each; shift 3: K00-K04 one each
    plan = {
        0: [(n, 2) for n in range(10)] + [(n, 1) for n in range(10, 20)],
        1: [(n, 1) for n in range(15)],
        2: [(n, 1) for n in range(5)],
    }
    checkins = []
    for shift, wants in plan.items():
        at = start + dt.timedelta(hours=2 * shift, minutes=10)
        volunteer = 0
        for n, count in wants:
            for _ in range(count):
                p = points[n]
                checkins.append(
                    {
                        "volunteer": f"D{volunteer:03d}",
                        "at": at.isoformat(),
                        "lat": p["lat"],
                        "lon": p["lon"],
                    }
                )  # nearest point: K{n}
                volunteer += 1
    stored = com.post("/api/v1/operations/OP-30/checkins", "leader", {"checkins": checkins})
    assert stored.status_code == 200 and stored.json()["stored"] == len(checkins) == 50

    board = com.get(
        "/api/v1/operations/OP-30/board",
        "planner",
        at=(start + dt.timedelta(minutes=30)).isoformat(),
    ).json()
    states = {p["point"]: p["state"] for p in board["points"]}
    assert board["shift"] == "S1" and len(states) == 30
    assert all(states[f"K{n:02d}"] == "staffed" for n in range(10))
    assert all(states[f"K{n:02d}"] == "understaffed" for n in range(10, 20))
    assert all(states[f"K{n:02d}"] == "empty" for n in range(20, 30))
    assert board["counts"] == {"staffed": 10, "understaffed": 10, "empty": 10}
    assert {p["point"]: p["rostered"] for p in board["points"]}["K00"] == 1
    later = com.get(
        "/api/v1/operations/OP-30/board",
        "leader",
        at=(start + dt.timedelta(minutes=55)).isoformat(),
    ).json()
    assert later["counts"]["empty"] == 30, "check-ins older than fresh_minutes do not count"
    assert com.get("/api/v1/operations/OP-30/board", "far_dispatcher").status_code == 404

    closed = com.post("/api/v1/operations/OP-30/close", "leader")
    assert closed.status_code == 200, closed.text
    report = closed.json()
    assert report["person_times"] == report["checkins"] == len(checkins)
    assert report["volunteers"] == 30 and report["shifts"] == 3 and report["points"] == 30
    assert report["hours"] == pytest.approx(50 * (2 - 10 / 60), abs=0.01)
    cell = {(c["shift"], c["point"]): c for c in report["coverage"]}
    assert cell[("S1", "K00")]["coverage"] == 1.0 and cell[("S1", "K10")]["coverage"] == 0.5
    assert cell[("S3", "K29")]["person_times"] == 0
    assert report["fully_staffed"] == "10 of 90 point-shifts"
    late = com.post("/api/v1/operations/OP-30/checkins", "leader", {"checkins": checkins[:1]})
    assert late.status_code == 409, "a closed operation takes no check-ins"

    with com.env.store.sessions() as session:  # pushed live to the town's console
        events = session.scalars(
            select(LiveEvent).where(LiveEvent.kind == "operation.staffing").order_by(LiveEvent.id)
        ).all()
    ours = [e for e in events if e.data.get("operation") == "OP-30"]
    assert [e.data["reason"] for e in ours] == ["roster", "checkin", "closed"]
    assert all(com.town_id in e.audience["current"]["units"] for e in ours)


# ------------------------------------------------------------------------ ledgers
@pytest.mark.parametrize("kind", ["attendance", "hours"])
def test_the_xlsx_ledger_holds_the_rows_of_the_csv(com: Community, kind: str) -> None:
    com.volunteer("V500")
    now = dt.datetime.now(TZ)
    at = now - dt.timedelta(minutes=30)
    batch = [
        {
            "member": "V500",
            "at": (at + dt.timedelta(minutes=5 * k)).isoformat(),
            "lat": DEMO_LAT,
            "lon": DEMO_LON,
        }
        for k in range(4)
    ]
    com.post("/api/v1/patrols/checkins", "leader", {"team": com.team, "checkins": batch})
    month = _month(now)
    params = {"team": com.team, "month": month}
    as_csv = com.get(f"/api/v1/ledgers/{kind}", "dispatcher", format="csv", **params)
    as_xlsx = com.get(f"/api/v1/ledgers/{kind}", "dispatcher", format="xlsx", **params)
    assert as_csv.status_code == 200 and as_xlsx.status_code == 200, as_csv.text
    csv_lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    xlsx_lines = [
        [_cell(v) for v in row[: len(line)]]
        for row, line in zip(sheet.iter_rows(values_only=True), csv_lines, strict=True)
    ]
    assert xlsx_lines == [[_cell(v) for v in line] for line in csv_lines]
    assert month in csv_lines[0][0] and csv_lines[1][1] and len(csv_lines) > 3
    assert any("王V500" in line for line in csv_lines[3:]), "managers see real names"
    pseudonymous = com.get(f"/api/v1/ledgers/{kind}", "planner", format="csv", **params)
    assert "王V500" not in pseudonymous.content.decode("utf-8-sig")


def _cell(value: object) -> str:
    """A cell as text, numbers by value (the CSV's ``2.0`` is the sheet's ``2``)."""
    if value is None:
        return ""
    try:
        return repr(float(str(value)))
    except ValueError:
        return str(value)
