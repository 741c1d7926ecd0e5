"""Patrols over HTTP: patrol points, teams, check-ins, attendance and coverage."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import CurrentScope, CurrentUser
from api.deps import LocatorDep, SessionDep
from api.params import Day, Instant
from grids.cases.intake import require_role
from grids.city.models import Unit
from grids.db import transaction
from grids.errors import NotFound
from grids.patrols.models import PatrolPoint
from grids.patrols.scope import sees_point, visible_point
from grids.patrols.service import (
    CheckInIn,
    attendance,
    coverage,
    record_checkins,
    save_member,
    save_point,
    save_team,
    team_by_code,
)

router = APIRouter(prefix="/patrols", tags=["patrols"])
LEADERS = ("patrol_leader", "dispatcher", "admin")
READERS = (*LEADERS, "planner")


class PointIn(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(description="key_point, joint_defence_point, patrol_station, security_post")
    lat: float
    lon: float
    must_visit: bool = False


class MemberIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=100, description="Default: the code")


class TeamIn(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    town: str | None = Field(default=None, description="Town code")
    members: list[MemberIn] = Field(default_factory=list, max_length=1000)


class CheckInBody(BaseModel):
    member: str
    at: Instant = Field(description="When the phone recorded it, with offset (ISO 8601)")
    lat: float
    lon: float


class CheckInBatch(BaseModel):
    team: str
    checkins: list[CheckInBody] = Field(min_length=1, max_length=10_000)


def _point_view(point: PatrolPoint, session: Session) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": point.code,
        "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
        "properties": {
            "code": point.code,
            "name": point.name,
            "kind": point.kind,
            "must_visit": point.must_visit,
            "grid": _code(session, point.grid_id),
            "town": _code(session, point.town_id),
        },
    }


def _code(session: Session, unit_id: int | None) -> str | None:
    unit = session.get(Unit, unit_id) if unit_id else None
    return unit.code if unit else None


@router.get("/points")
def list_points(session: SessionDep, user: CurrentUser, scope: CurrentScope) -> dict[str, Any]:
    """Patrol points in your scope, as GeoJSON."""
    require_role(user, *READERS)
    points = session.scalars(select(PatrolPoint).order_by(PatrolPoint.code)).all()
    return {
        "type": "FeatureCollection",
        "features": [_point_view(p, session) for p in points if sees_point(scope, p)],
    }


@router.post("/points", status_code=201)
def create_point(
    request: Request, user: CurrentUser, scope: CurrentScope, locator: LocatorDep, body: PointIn
) -> dict[str, Any]:
    """Create or update (by code) a patrol point; its grid is found by the cell map."""
    require_role(user, *LEADERS)
    with transaction(request.app.state.sessions) as session:
        point = save_point(
            session,
            locator,
            code=body.code,
            name=body.name,
            kind=body.kind,
            lat=body.lat,
            lon=body.lon,
            must_visit=body.must_visit,
            scope=scope,
        )
        return _point_view(point, session)


@router.delete("/points/{code}", status_code=204)
def delete_point(request: Request, user: CurrentUser, scope: CurrentScope, code: str) -> None:
    require_role(user, *LEADERS)
    with transaction(request.app.state.sessions) as session:
        point = visible_point(session, scope, code)
        if point is None:
            raise NotFound(f"no patrol point {code!r}")
        session.delete(point)


@router.post("/teams", status_code=201)
def create_team(
    request: Request, user: CurrentUser, scope: CurrentScope, body: TeamIn
) -> dict[str, Any]:
    """Create or update (by code) a team and its members."""
    require_role(user, *LEADERS)
    with transaction(request.app.state.sessions) as session:
        team = save_team(session, body.code, body.name, body.town, scope)
        for member in body.members:
            save_member(session, team, member.code, member.name or member.code)
        return {"code": team.code, "name": team.name, "members": len(body.members)}


@router.post("/checkins")
def post_checkins(
    request: Request, user: CurrentUser, scope: CurrentScope, body: CheckInBatch
) -> dict[str, int]:
    """Record a batch of check-ins (e.g. a phone back online); already stored ones are skipped."""
    require_role(user, *LEADERS)
    with transaction(request.app.state.sessions) as session:
        team = team_by_code(session, body.team, scope)
        stored, duplicates = record_checkins(
            session, team, [CheckInIn(c.member, c.at, c.lat, c.lon) for c in body.checkins]
        )
    return {"stored": stored, "duplicates": duplicates}


@router.get("/attendance")
def team_attendance(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    team: str,
    date: Day,
) -> dict[str, Any]:
    """考勤 of a team for one local day: shifts, hours on patrol, points visited per member."""
    require_role(user, *READERS)
    return attendance(
        session, team_by_code(session, team, scope), date, request.app.state.settings.timezone
    )


@router.get("/coverage")
def cell_coverage(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    res: Annotated[int, Query(ge=5, le=12)] = 9,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24 * 7,
) -> list[dict[str, Any]]:
    """Per H3 cell: check-ins of the teams in your scope in the last ``hours`` and when the
    last one was."""
    require_role(user, *READERS)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    return coverage(session, res=res, since=since, scope=scope)
