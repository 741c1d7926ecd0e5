"""The community's own forces over HTTP, on both backends: volunteers and who sees their
names, service hours from check-ins and duty, stars with reasons, points and the mall
under concurrency, buildings, a 30-point operation, and the ledgers."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from sqlalchemy import select

from grids.community.models import PointsEntry, Redemption
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import Community, local_month

TZ = ZoneInfo("Asia/Shanghai")


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
    rating = com.get("/api/v1/volunteers/V200/rating", "officer", month=local_month(now)).json()
    assert rating["stars"] == 2 and "no evaluations" in rating["reason"]  # 3★ needs a score
    for score in (5, 5, 4, 4, 5):
        body = {"score": score, "note": "值守认真"}
        assert com.post("/api/v1/volunteers/V200/evaluations", "leader", body).status_code == 201
    assert (
        com.post("/api/v1/volunteers/V200/evaluations", "officer", {"score": 5}).status_code == 403
    ), "officers are no team leaders"
    rating = com.get("/api/v1/volunteers/V200/rating", "officer", month=local_month(now)).json()
    assert rating["stars"] == 4 and rating["shown"] == "★★★★"
    assert rating["reason"].startswith("42 h this year, mean evaluation 4.6 → ★★★★")
    assert "★★★★★ needs 80 h" in rating["reason"]


def test_a_redemption_short_of_points_fails_cleanly(com: Community) -> None:
    com.volunteer("V300")
    now = dt.datetime.now(TZ)
    body = {"started_at": (now - dt.timedelta(minutes=5)).isoformat(), "hours": 12}
    assert com.post("/api/v1/volunteers/V300/activities", "leader", body).status_code == 201
    credited = com.post("/api/v1/points/hours", "admin", month=local_month(now))
    assert credited.status_code == 200, credited.text
    again = com.post("/api/v1/points/hours", "admin", month=local_month(now))
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
        "/api/v1/points/statement", "dispatcher", volunteer="V300", month=local_month(now)
    ).json()
    assert [(e["source"], e["points"]) for e in statement["entries"]] == [
        ("hours", 24),
        ("redemption", -20),
    ]
    assert statement["closing"] == statement["balance"] == 4
    assert "12.0 h of service" in statement["entries"][0]["reason"]
    board = com.get("/api/v1/points/leaderboard", "citizen", month=local_month(now), town=com.town)
    assert board.status_code == 200 and "王V300" not in board.text
    assert any(row["points"] == 24 for row in board.json())


def test_twenty_concurrent_redemptions_of_the_last_item_one_succeeds(com: Community) -> None:
    com.volunteer("V400")
    now = dt.datetime.now(TZ)
    body = {"started_at": (now - dt.timedelta(minutes=5)).isoformat(), "hours": 24}
    assert com.post("/api/v1/volunteers/V400/activities", "leader", body).status_code == 201
    assert com.post("/api/v1/points/hours", "admin", month=local_month(now)).status_code == 200
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
    statement = com.get("/api/v1/points/statement", volunteer="V400", month=local_month(now)).json()
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
    mine = com.get("/api/v1/my/points", "other_citizen", month=local_month(dt.datetime.now(TZ)))
    assert mine.status_code == 200, mine.text
    [entry] = [e for e in mine.json()["entries"] if f"#{case['id']}" in e["reason"]]
    assert entry["source"] == "report" and entry["points"] == 10
    assert com.get(f"/api/v1/cases/{case['id']}", "other_citizen").json()["reward"]["points"] == 10
