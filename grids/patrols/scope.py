"""Who may see and change which patrol data: the rule of ``grids.accounts.scope``, applied
to patrol points (by their grid and town), teams (by their town) and their check-ins.

As for cases: what lies outside your scope does not exist for you (404, also when you
name it by its code to overwrite it), and placing something outside your scope — a
point located in another town, a team given to another town — is forbidden (403).
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from grids.accounts.scope import Scope
from grids.accounts.users import Forbidden
from grids.errors import NotFound
from grids.patrols.models import CheckIn, PatrolPoint, Team

Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]


def sees_point(scope: Scope | None, point: PatrolPoint) -> bool:
    """May this scope (``None``: a trusted caller, e.g. an importer) see the point?"""
    return scope is None or scope.covers(point.grid_id, point.town_id, None)


def sees_team(scope: Scope | None, team: Team) -> bool:
    return scope is None or scope.covers(None, team.town_id, None)


def visible_point(session: Session, scope: Scope | None, code: str) -> PatrolPoint | None:
    """The point with this code, None when there is none; 404 when it is outside the scope."""
    point = session.scalar(select(PatrolPoint).where(PatrolPoint.code == code))
    if point is not None and not sees_point(scope, point):
        raise NotFound(f"no patrol point {code!r} in your scope")
    return point


def visible_team(session: Session, scope: Scope | None, code: str) -> Team | None:
    """The team with this code, None when there is none; 404 when it is outside the scope."""
    team = session.scalar(select(Team).where(Team.code == code))
    if team is not None and not sees_team(scope, team):
        raise NotFound(f"no team {code!r} in your scope")
    return team


def check_point_placed(scope: Scope | None, point: PatrolPoint) -> None:
    """A point (created or moved) must lie in the scope of whoever placed it."""
    if not sees_point(scope, point):
        raise Forbidden("that point lies outside your scope (its grid and town are not yours)")


def check_team_placed(scope: Scope | None, team: Team) -> None:
    if not sees_team(scope, team):
        raise Forbidden("that team would belong to a town outside your scope")


def scoped_checkins(query: Q, scope: Scope | None) -> Q:
    """Check-ins of the teams the scope sees (a town's dispatcher: their town's teams)."""
    if scope is None or scope.everywhere:
        return query
    if scope.unit_ids is None:  # an officer's grids: no team is theirs
        return query.where(false())
    return query.join(Team, Team.id == CheckIn.team_id).where(Team.town_id.in_(scope.unit_ids))
