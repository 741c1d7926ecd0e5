"""The points ledger over HTTP: monthly statements, leaderboards, crediting a month's hours."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.community import MANAGERS, CommunityDep, managed_volunteer, own_reporter_id, seen_team
from api.deps import LocatorDep, SessionDep
from grids.cases.intake import require_role
from grids.city.hierarchy import unit_by_code
from grids.community.points import (
    account_for,
    credit_month,
    leaderboard,
    month_bounds,
    statement,
)
from grids.db import transaction, utcnow

router = APIRouter(tags=["points"])


@router.get("/points/statement")
def volunteer_statement(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    volunteer: str,
    month: str,
) -> dict[str, Any]:
    """A volunteer's monthly statement: opening balance, every entry with its reason, closing."""
    require_role(user, *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        row = managed_volunteer(session, user, scope, locator.directory, volunteer)
        account = account_for(session, volunteer_id=row.id)
        return {"volunteer": row.code, **statement(session, account, month, community.timezone)}


@router.get("/my/points")
def my_points(
    request: Request, user: CurrentUser, own: CurrentOwn, community: CommunityDep, month: str
) -> dict[str, Any]:
    """A reporter's own monthly statement (an app: ``?reporter=ID`` for one of its users)."""
    require_role(user, "reporter")
    with transaction(request.app.state.sessions) as session:
        account = account_for(session, reporter_id=own_reporter_id(session, user, own))
        return statement(session, account, month, community.timezone)


@router.get("/points/leaderboard")
def points_leaderboard(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    month: str,
    town: str | None = None,
    team: str | None = None,
) -> list[dict[str, Any]]:
    """Volunteers by points earned in a month, per town or team; pseudonyms only."""
    since, until = month_bounds(month, community.timezone)
    unit_ids = None
    if town is not None:
        unit = unit_by_code(session, town)
        unit_ids = {unit.id} | {
            u.id for u in locator.directory.units.values() if u.parent_id == unit.id
        }
    team_id = seen_team(session, scope, team).id if team is not None else None
    return leaderboard(session, unit_ids=unit_ids, team_id=team_id, since=since, until=until)


@router.post("/points/hours")
def credit_hours_of_month(
    request: Request, user: CurrentUser, community: CommunityDep, month: str
) -> dict[str, Any]:
    """Credit every volunteer's points for a month's service hours; once per month (admins)."""
    require_role(user, "admin")
    with transaction(request.app.state.sessions) as session:
        credited = credit_month(session, month, community.timezone, at=utcnow())
    return {"month": month, "credited": credited}
