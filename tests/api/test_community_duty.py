"""Buildings, major-event duty and the ledgers over HTTP, on both backends: cases linked
to buildings, a 30-point operation of 3 shifts with its board and closing report, and the
XLSX ledgers holding the CSV's rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from grids.events import LiveEvent
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import Community, jpeg_with_gps, local_month

TZ = ZoneInfo("Asia/Shanghai")


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
    assert counts[com.env.demo_grid]["overdue"] >= 1
    assert com.get("/api/v1/buildings/B001").json()["overdue"] is True
    with_photo = com.env.client.post(
        "/api/v1/buildings/B001/inspections",
        data={"inspection": json.dumps({"on": today.isoformat(), "findings": "已整改"})},
        files={"photos": ("stairs.jpg", jpeg_with_gps(), "image/jpeg")},
        headers=com.headers("officer"),
    )
    assert with_photo.status_code == 201 and with_photo.json()["photos"] == 1, with_photo.text
    assert com.get("/api/v1/buildings/B001").json()["overdue"] is False
    counts = {r["grid"]: r for r in com.get("/api/v1/buildings/counts", "dispatcher").json()}
    assert counts[com.env.demo_grid]["units"] >= 24
    layer = com.get("/api/v1/buildings", "officer").json()
    assert "B001" in {f["id"] for f in layer["features"]}
    assert com.get("/api/v1/buildings/B001", "far_dispatcher").status_code == 404


def _square(half_deg: float) -> dict[str, object]:
    lat, lon, d = DEMO_LAT, DEMO_LON, half_deg
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_a_case_inside_a_footprint_is_linked_and_a_block_is_no_footprint(com: Community) -> None:
    """Intake looks for a case's building in a small box, so a footprint stays within
    300 m of its building's point; a case anywhere inside one is linked to it."""
    tower = {"code": "B100", "name": "大厦", "address": "南城1号", "units": 300}
    created = com.post("/api/v1/buildings", "dispatcher", {**tower, "footprint": _square(0.0006)})
    assert created.status_code == 201, created.text
    case = com.post(
        "/api/v1/cases",
        "citizen",  # about 75 m from the building's point, inside its footprint
        {"lat": DEMO_LAT + 0.0005, "lon": DEMO_LON + 0.0005, "category": "garbage_piled"},
    ).json()
    assert case["id"] in com.get("/api/v1/buildings/B100", "officer").json()["cases"]
    block = {**tower, "code": "B101", "footprint": _square(0.01)}  # 2 km across
    refused = com.post("/api/v1/buildings", "dispatcher", block)
    assert refused.status_code == 422 and "within 300 m" in refused.text, refused.text
    assert com.get("/api/v1/buildings/B101", "officer").status_code == 404


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
    month = local_month(now)
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
