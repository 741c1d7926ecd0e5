"""Major-event security duty over HTTP: operations, the roster, check-ins at the points,
the live staffing board (also pushed as ``operation.staffing`` events), the closing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import CurrentScope, CurrentUser
from api.community import MANAGERS, managed_volunteer
from api.deps import LocatorDep, SessionDep
from grids.accounts.scope import Scope
from grids.accounts.users import Forbidden
from grids.cases.intake import require_role
from grids.community.models import Operation
from grids.community.operations import (
    DutyCheckInIn,
    PointIn,
    ShiftIn,
    assign,
    board,
    close_operation,
    closing_report,
    create_operation,
    operation_by_code,
    record_duty_checkins,
)
from grids.db import transaction, utcnow
from grids.errors import NotFound

router = APIRouter(prefix="/operations", tags=["operations"])
READERS = (*MANAGERS, "planner")


class PointBody(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    lat: float
    lon: float
    headcount: int = Field(ge=1, description="Volunteers the point needs in every shift")


class ShiftBody(BaseModel):
    code: str = Field(max_length=64)
    starts_at: dt.datetime
    ends_at: dt.datetime


class OperationBody(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    town: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    fresh_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="Board: check-ins this recent count as present"
    )
    points: list[PointBody] = Field(min_length=1, max_length=10_000)
    shifts: list[ShiftBody] = Field(min_length=1, max_length=100)


class RosterBody(BaseModel):
    volunteer: str
    point: str
    shift: str
    how: str = Field(default="assigned", description="signup or assigned")


class DutyCheckInBody(BaseModel):
    volunteer: str
    at: dt.datetime
    lat: float
    lon: float
    point: str | None = Field(default=None, description="Default: the nearest point")


class DutyCheckInBatch(BaseModel):
    checkins: list[DutyCheckInBody] = Field(min_length=1, max_length=10_000)


def _in_scope(scope: Scope, operation: Operation) -> bool:
    return scope.everywhere or (scope.unit_ids is not None and operation.town_id in scope.unit_ids)


def _operation(session: Session, scope: Scope, code: str) -> Operation:
    operation = operation_by_code(session, code)
    if not _in_scope(scope, operation):
        raise NotFound(f"no operation {code!r}")
    return operation


@router.post("", status_code=201)
def new_operation(
    request: Request, user: CurrentUser, scope: CurrentScope, body: OperationBody
) -> dict[str, Any]:
    """An operation: its window, the key points with their headcount, the shifts."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        operation = create_operation(
            session,
            code=body.code,
            name=body.name,
            town=body.town,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            fresh_minutes=body.fresh_minutes,
            points=[PointIn(p.code, p.name, p.lat, p.lon, p.headcount) for p in body.points],
            shifts=[ShiftIn(s.code, s.starts_at, s.ends_at) for s in body.shifts],
        )
        if not _in_scope(scope, operation):
            raise Forbidden("that operation belongs to another town")
        return {"code": operation.code, "points": len(body.points), "shifts": len(body.shifts)}


@router.post("/{code}/roster", status_code=201)
def roster(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    code: str,
    body: RosterBody,
) -> dict[str, Any]:
    """Sign a volunteer up, or assign them, to a point for a shift."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        operation = _operation(session, scope, code)
        volunteer = managed_volunteer(session, user, scope, locator.directory, body.volunteer)
        assign(
            session,
            operation,
            volunteer,
            point=body.point,
            shift=body.shift,
            how=body.how,
            now=utcnow(),
        )
        return {"volunteer": volunteer.pseudonym, "point": body.point, "shift": body.shift}


@router.post("/{code}/checkins")
def duty_checkins(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    code: str,
    body: DutyCheckInBatch,
) -> dict[str, int]:
    """Check-ins at the operation's points (a batch; already stored ones are skipped)."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        operation = _operation(session, scope, code)
        volunteers = {
            c: managed_volunteer(session, user, scope, locator.directory, c)
            for c in {c.volunteer for c in body.checkins}
        }
        stored, duplicates = record_duty_checkins(
            session,
            operation,
            [
                DutyCheckInIn(volunteers[c.volunteer], c.at, c.lat, c.lon, c.point)
                for c in body.checkins
            ],
            now=utcnow(),
        )
    return {"stored": stored, "duplicates": duplicates}


@router.get("/{code}/board")
def staffing_board(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    code: str,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Each point now (or ``at``): staffed, understaffed or empty, from recent check-ins."""
    require_role(user, *READERS)
    return board(session, _operation(session, scope, code), now=at or utcnow())


@router.post("/{code}/close")
def close(request: Request, user: CurrentUser, scope: CurrentScope, code: str) -> dict[str, Any]:
    """Close the operation: the closing report, and each volunteer's duty points."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        return close_operation(session, _operation(session, scope, code), now=utcnow())


@router.get("/{code}/report")
def report(
    session: SessionDep, user: CurrentUser, scope: CurrentScope, code: str
) -> dict[str, Any]:
    """The closing report (so far, while the operation is open): person-times, hours,
    coverage of each point and shift."""
    require_role(user, *READERS)
    operation = _operation(session, scope, code)
    if operation.report is not None:
        return operation.report
    result = closing_report(session, operation)
    result.pop("per_volunteer_hours")
    return result
