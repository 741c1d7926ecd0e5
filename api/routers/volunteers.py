"""Volunteers over HTTP: the registry, CSV import, service hours and recorded activities.

Real names and phones only reach admins and the managers of the volunteer's unit;
everyone else gets the pseudonym."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import CurrentScope, CurrentUser
from api.community import MANAGERS, STAFF, CommunityDep, managed_volunteer, seen_volunteer
from api.deps import LocatorDep, SessionDep
from grids.accounts.models import User
from grids.accounts.scope import Scope
from grids.cases.intake import require_role
from grids.city.directory import Directory
from grids.community.hours import record_activity, service_hours
from grids.community.models import Volunteer
from grids.community.volunteers import (
    Manages,
    VolunteerIn,
    identity_visible,
    import_volunteers,
    may_see_volunteer,
    save_volunteer,
    volunteer_view,
)
from grids.db import transaction
from grids.errors import InvalidInput
from grids.patrols.models import Team

router = APIRouter(prefix="/volunteers", tags=["volunteers"])


class VolunteerBody(BaseModel):
    code: str = Field(max_length=64)
    kind: str = Field(description="A kind's code or label, e.g. yijing or 义警")
    name: str = Field(max_length=100, description="The real name (admins and unit managers)")
    unit: str = Field(description="Community or town code")
    phone: str | None = Field(default=None, max_length=32)
    team: str | None = None
    skills: list[str] = Field(default_factory=list)


class ActivityBody(BaseModel):
    started_at: dt.datetime
    hours: float
    note: str = Field(default="", max_length=200)


@router.get("")
def list_volunteers(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    team: str | None = None,
    unit: str | None = None,
) -> list[dict[str, Any]]:
    """Volunteers in your sight; names and phones only for the units you manage."""
    require_role(user, *STAFF)
    directory = locator.directory
    query = select(Volunteer).order_by(Volunteer.code)
    if team is not None:
        query = query.join(Team, Team.id == Volunteer.team_id).where(Team.code == team)
    if unit is not None:
        unit_id = next((u.id for u in directory.units.values() if u.code == unit), -1)
        query = query.where(Volunteer.unit_id == unit_id)
    return [
        volunteer_view(
            session,
            v,
            identity=identity_visible(user, scope, directory, v.unit_id),
            kinds=community.kinds,
        )
        for v in session.scalars(query)
        if may_see_volunteer(scope, directory, v.unit_id)
    ]


def _manages(user: User, scope: Scope, directory: Directory) -> Manages:
    return lambda unit_id: identity_visible(user, scope, directory, unit_id)


@router.post("", status_code=201)
def create_volunteer(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    body: VolunteerBody,
) -> dict[str, Any]:
    """Register or update (by code) a volunteer of a unit you manage."""
    require_role(user, *MANAGERS)
    item = VolunteerIn(
        body.code, body.kind, body.name, body.unit, body.phone, body.team, tuple(body.skills)
    )
    with transaction(request.app.state.sessions) as session:
        volunteer = save_volunteer(
            session, community, item, _manages(user, scope, locator.directory)
        )
        return volunteer_view(session, volunteer, identity=True, kinds=community.kinds)


@router.post("/import")
async def import_csv(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
) -> dict[str, Any]:
    """Import a CSV (code,kind,name,phone,unit,team,skills) sent as the body: all rows or
    none; a refusal (422) lists every rejected row with its reason in ``rejected``."""
    require_role(user, *MANAGERS)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV must be UTF-8") from exc
    with transaction(request.app.state.sessions) as session:
        result = import_volunteers(
            session, community, text, _manages(user, scope, locator.directory)
        )
    return {"imported": result.accepted, "rejected": result.rejected}


@router.get("/{code}")
def get_volunteer(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    code: str,
) -> dict[str, Any]:
    require_role(user, *STAFF)
    volunteer = seen_volunteer(session, scope, locator.directory, code)
    identity = identity_visible(user, scope, locator.directory, volunteer.unit_id)
    return volunteer_view(session, volunteer, identity=identity, kinds=community.kinds)


@router.get("/{code}/hours")
def volunteer_hours(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    code: str,
    since: dt.datetime,
    until: dt.datetime,
) -> dict[str, Any]:
    """Service hours in [since, until): patrol check-ins, event duty, recorded activities."""
    require_role(user, *STAFF)
    volunteer = seen_volunteer(session, scope, locator.directory, code)
    hours = service_hours(session, volunteer, since, until)
    return {"code": code, "volunteer": volunteer.pseudonym, **hours.to_dict()}


@router.post("/{code}/activities", status_code=201)
def add_activity(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    code: str,
    body: ActivityBody,
) -> dict[str, Any]:
    """Record hours of an activity (a training, a campaign) for a volunteer you manage."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        volunteer = managed_volunteer(session, user, scope, locator.directory, code)
        activity = record_activity(
            session,
            volunteer,
            started_at=body.started_at,
            hours=body.hours,
            note=body.note,
            user=user,
        )
        return {"id": activity.id, "hours": activity.hours, "note": activity.note}
