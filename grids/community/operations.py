"""Major-event security duty (重大活动安保): an operation's key points and shifts, the duty
roster, check-ins at the points, the live staffing board and the closing report.

A point is *staffed* when at least its headcount of volunteers checked in there in
the last ``fresh_minutes`` of the current shift, *understaffed* with fewer, *empty*
with none. Every check-in, roster change and the closing publish
``operation.staffing`` (the board) to the operation's town, so the console shows it
at once. A person-time (人次) is one volunteer at one point in one shift.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.crs import validate_coordinates
from geo.distance import haversine_m
from grids.city.hierarchy import unit_by_code
from grids.community.models import (
    DutyAssignment,
    DutyCheckIn,
    Operation,
    OperationPoint,
    OperationShift,
    Volunteer,
)
from grids.community.points import POINTS_PER_DUTY_HOUR, account_for, credit
from grids.errors import Conflict, InvalidInput, NotFound
from grids.events import publish

CHECKIN_RADIUS_M = 200.0
"""A check-in without a named point goes to the nearest point this close."""
EVENT = "operation.staffing"


@dataclass(frozen=True)
class PointIn:
    code: str
    name: str
    lat: float
    lon: float
    headcount: int


@dataclass(frozen=True)
class ShiftIn:
    code: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def create_operation(
    session: Session,
    *,
    code: str,
    name: str,
    town: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    points: list[PointIn],
    shifts: list[ShiftIn],
    fresh_minutes: int = 30,
) -> Operation:
    """An operation with its points (headcount per shift) and shifts inside its window."""
    unit = unit_by_code(session, town)
    if unit.level not in ("town", "city"):
        raise InvalidInput(f"{town} is a {unit.level}; an operation belongs to a town")
    if session.scalar(select(Operation.id).where(Operation.code == code)) is not None:
        raise Conflict(f"operation {code!r} exists")
    for moment in (
        starts_at,
        ends_at,
        *(s.starts_at for s in shifts),
        *(s.ends_at for s in shifts),
    ):
        if moment.tzinfo is None:
            raise InvalidInput("times need a time zone offset, e.g. 2026-12-01T08:00:00+08:00")
    if not starts_at < ends_at or not points or not shifts:
        raise InvalidInput("an operation needs a window (start before end), points and shifts")
    for shift in shifts:
        if not starts_at <= shift.starts_at < shift.ends_at <= ends_at:
            raise InvalidInput(f"shift {shift.code} must lie inside the operation's window")
    if any(p.headcount < 1 for p in points):
        raise InvalidInput("every point needs a headcount of at least 1")
    if len({p.code for p in points}) < len(points) or len({s.code for s in shifts}) < len(shifts):
        raise InvalidInput("point codes and shift codes must be unique")
    validate_coordinates([p.lat for p in points], [p.lon for p in points])
    operation = Operation(
        code=code,
        name=name,
        town_id=unit.id,
        starts_at=starts_at,
        ends_at=ends_at,
        fresh_minutes=fresh_minutes,
        status="open",
    )
    session.add(operation)
    session.flush()
    session.add_all(
        OperationPoint(
            operation_id=operation.id,
            code=p.code,
            name=p.name,
            lat=p.lat,
            lon=p.lon,
            headcount=p.headcount,
        )
        for p in points
    )
    session.add_all(
        OperationShift(
            operation_id=operation.id, code=s.code, starts_at=s.starts_at, ends_at=s.ends_at
        )
        for s in shifts
    )
    session.flush()
    return operation


def operation_by_code(session: Session, code: str) -> Operation:
    operation = session.scalar(select(Operation).where(Operation.code == code))
    if operation is None:
        raise NotFound(f"no operation {code!r}")
    return operation


def _points(session: Session, operation: Operation) -> list[OperationPoint]:
    return list(
        session.scalars(
            select(OperationPoint)
            .where(OperationPoint.operation_id == operation.id)
            .order_by(OperationPoint.code)
        )
    )


def _shifts(session: Session, operation: Operation) -> list[OperationShift]:
    return list(
        session.scalars(
            select(OperationShift)
            .where(OperationShift.operation_id == operation.id)
            .order_by(OperationShift.starts_at)
        )
    )


def _open(operation: Operation) -> None:
    if operation.status != "open":
        raise Conflict(f"operation {operation.code} is closed")


def assign(
    session: Session,
    operation: Operation,
    volunteer: Volunteer,
    *,
    point: str,
    shift: str,
    how: str = "assigned",
    now: dt.datetime,
) -> DutyAssignment:
    """Put a volunteer on a point for a shift (``signup`` or ``assigned``); one point a shift."""
    _open(operation)
    if how not in ("signup", "assigned"):
        raise InvalidInput(f"how must be signup or assigned, got {how!r}")
    target = _by_code(_points(session, operation), point, "point")
    when = _by_code(_shifts(session, operation), shift, "shift")
    row = session.scalar(
        select(DutyAssignment).where(
            DutyAssignment.shift_id == when.id, DutyAssignment.volunteer_id == volunteer.id
        )
    ) or DutyAssignment(shift_id=when.id, volunteer_id=volunteer.id)
    row.point_id, row.how = target.id, how
    session.add(row)
    session.flush()
    publish_board(session, operation, now=now, reason="roster")
    return row


def _by_code(rows: list[Any], code: str, what: str) -> Any:
    found = next((r for r in rows if r.code == code), None)
    if found is None:
        raise NotFound(f"no {what} {code!r} in this operation")
    return found


@dataclass(frozen=True)
class DutyCheckInIn:
    volunteer: Volunteer
    at: dt.datetime
    lat: float
    lon: float
    point: str | None = None


def record_duty_checkins(
    session: Session, operation: Operation, items: list[DutyCheckInIn], *, now: dt.datetime
) -> tuple[int, int]:
    """Store check-ins at the operation's points; returns (stored, duplicates)."""
    _open(operation)
    if not items:
        raise InvalidInput("no check-ins in the batch")
    points, shifts = _points(session, operation), _shifts(session, operation)
    validate_coordinates([i.lat for i in items], [i.lon for i in items])
    stored = duplicates = 0
    for n, item in enumerate(sorted(items, key=lambda i: i.at), start=1):
        if item.at.tzinfo is None:
            raise InvalidInput(f"check-in {n}: 'at' needs a time zone offset, e.g. +08:00")
        if item.at > now + dt.timedelta(minutes=10):
            raise InvalidInput(f"check-in {n}: 'at' {item.at.isoformat()} is in the future")
        shift = next((s for s in shifts if s.starts_at <= item.at < s.ends_at), None)
        if shift is None:
            raise InvalidInput(f"check-in {n}: {item.at.isoformat()} is in no shift")
        point = _by_code(points, item.point, "point") if item.point else _nearest(points, item)
        if session.scalar(
            select(DutyCheckIn.id).where(
                DutyCheckIn.volunteer_id == item.volunteer.id, DutyCheckIn.at == item.at
            )
        ):
            duplicates += 1
            continue
        session.add(
            DutyCheckIn(
                operation_id=operation.id,
                point_id=point.id,
                shift_id=shift.id,
                volunteer_id=item.volunteer.id,
                at=item.at,
                lat=item.lat,
                lon=item.lon,
            )
        )
        session.flush()
        stored += 1
    if stored:
        publish_board(session, operation, now=now, reason="checkin")
    return stored, duplicates


def _nearest(points: list[OperationPoint], item: DutyCheckInIn) -> OperationPoint:
    best = min(points, key=lambda p: haversine_m(item.lat, item.lon, p.lat, p.lon))
    distance = float(haversine_m(item.lat, item.lon, best.lat, best.lon))
    if distance > CHECKIN_RADIUS_M:
        raise InvalidInput(
            f"check-in at {item.lat:.5f},{item.lon:.5f} is {distance:.0f} m from the nearest "
            f"point ({best.code}); name the point or check in within {CHECKIN_RADIUS_M:.0f} m"
        )
    return best


# ---------------------------------------------------------------- the board
def board(session: Session, operation: Operation, *, now: dt.datetime) -> dict[str, Any]:
    """Each point's state now: staffed, understaffed or empty (or ``off`` between shifts)."""
    shift = next((s for s in _shifts(session, operation) if s.starts_at <= now < s.ends_at), None)
    points = _points(session, operation)
    present: dict[int, set[str]] = {p.id: set() for p in points}
    rostered: dict[int, int] = {p.id: 0 for p in points}
    if shift is not None:
        since = max(shift.starts_at, now - dt.timedelta(minutes=operation.fresh_minutes))
        for point_id, name in session.execute(
            select(DutyCheckIn.point_id, Volunteer.pseudonym)
            .join(Volunteer, Volunteer.id == DutyCheckIn.volunteer_id)
            .where(
                DutyCheckIn.shift_id == shift.id,
                DutyCheckIn.at >= since,
                DutyCheckIn.at <= now,
            )
        ):
            present[point_id].add(name)
        for (point_id,) in session.execute(
            select(DutyAssignment.point_id).where(DutyAssignment.shift_id == shift.id)
        ):
            rostered[point_id] += 1
    rows = []
    for p in points:
        count = len(present[p.id])
        state = (
            "off"
            if shift is None
            else "staffed"
            if count >= p.headcount
            else "understaffed"
            if count
            else "empty"
        )
        rows.append(
            {
                "point": p.code,
                "name": p.name,
                "lat": p.lat,
                "lon": p.lon,
                "headcount": p.headcount,
                "rostered": rostered[p.id],
                "present": count,
                "volunteers": sorted(present[p.id]),
                "state": state,
            }
        )
    counts = {s: sum(r["state"] == s for r in rows) for s in ("staffed", "understaffed", "empty")}
    return {
        "operation": operation.code,
        "name": operation.name,
        "status": operation.status,
        "shift": shift.code if shift else None,
        "at": now.isoformat(),
        "fresh_minutes": operation.fresh_minutes,
        "counts": counts,
        "points": rows,
    }


def publish_board(session: Session, operation: Operation, *, now: dt.datetime, reason: str) -> None:
    data = board(session, operation, now=now)
    publish(session, EVENT, units=[operation.town_id], data={"reason": reason, **data})


# ------------------------------------------------------------------ closing
def closing_report(session: Session, operation: Operation) -> dict[str, Any]:
    """Person-times, hours, and the coverage of each point in each shift."""
    points, shifts = _points(session, operation), _shifts(session, operation)
    first: dict[tuple[int, int, int], dt.datetime] = {}
    checkins = 0
    for point_id, shift_id, volunteer_id, at in session.execute(
        select(
            DutyCheckIn.point_id, DutyCheckIn.shift_id, DutyCheckIn.volunteer_id, DutyCheckIn.at
        ).where(DutyCheckIn.operation_id == operation.id)
    ):
        checkins += 1
        key = (point_id, shift_id, volunteer_id)
        first[key] = min(first.get(key, at), at)
    ends = {s.id: s.ends_at for s in shifts}
    hours_of = {k: max(0.0, (ends[k[1]] - at).total_seconds() / 3600) for k, at in first.items()}
    coverage: list[dict[str, Any]] = []
    for shift in shifts:
        for point in points:
            people = sum(1 for k in first if k[0] == point.id and k[1] == shift.id)
            coverage.append(
                {
                    "shift": shift.code,
                    "point": point.code,
                    "headcount": point.headcount,
                    "person_times": people,
                    "coverage": round(min(1.0, people / point.headcount), 3),
                }
            )
    covered = sum(1 for c in coverage if c["person_times"] >= c["headcount"])
    return {
        "operation": operation.code,
        "name": operation.name,
        "points": len(points),
        "shifts": len(shifts),
        "checkins": checkins,
        "person_times": len(first),
        "volunteers": len({k[2] for k in first}),
        "hours": round(sum(hours_of.values()), 2),
        "fully_staffed": f"{covered} of {len(coverage)} point-shifts",
        "coverage": coverage,
        "per_volunteer_hours": _per_volunteer(hours_of),
    }


def _per_volunteer(hours_of: dict[tuple[int, int, int], float]) -> dict[int, float]:
    totals: dict[int, float] = {}
    for (_, _, volunteer_id), hours in hours_of.items():
        totals[volunteer_id] = totals.get(volunteer_id, 0.0) + hours
    return totals


def close_operation(session: Session, operation: Operation, *, now: dt.datetime) -> dict[str, Any]:
    """Close an operation: keep the closing report, credit each volunteer's duty points."""
    _open(operation)
    report = closing_report(session, operation)
    per_volunteer = report.pop("per_volunteer_hours")
    for volunteer_id, hours in sorted(per_volunteer.items()):
        points = math.floor(hours) * POINTS_PER_DUTY_HOUR
        if points > 0:
            credit(
                session,
                account_for(session, volunteer_id=volunteer_id),
                points,
                source="duty",
                ref=f"duty:{operation.code}",
                reason=f"{hours:.1f} h of duty in {operation.name} × {POINTS_PER_DUTY_HOUR}",
                at=now,
            )
    operation.status, operation.report = "closed", report
    session.flush()
    publish_board(session, operation, now=now, reason="closed")
    return report
