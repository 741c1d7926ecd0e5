"""What the community routers share: the community settings, local dates, a volunteer
looked up within the caller's sight."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter, User
from grids.accounts.reporters import OwnReports
from grids.accounts.scope import Scope
from grids.accounts.users import Forbidden
from grids.city.directory import Directory
from grids.community.config import CommunityConfig
from grids.community.models import Volunteer
from grids.community.volunteers import identity_visible, may_see_volunteer, volunteer_by_code
from grids.errors import NotFound
from grids.patrols.models import Team
from grids.patrols.service import team_by_code

STAFF = ("officer", "dispatcher", "patrol_leader", "planner", "admin")
MANAGERS = ("dispatcher", "patrol_leader", "admin")


def get_community(request: Request) -> CommunityConfig:
    return request.app.state.community


CommunityDep = Annotated[CommunityConfig, Depends(get_community)]


def today(config: CommunityConfig) -> dt.date:
    return dt.datetime.now(ZoneInfo(config.timezone)).date()


def seen_volunteer(session: Session, scope: Scope, directory: Directory, code: str) -> Volunteer:
    """A volunteer the caller may see (404 otherwise, as for anything out of sight)."""
    volunteer = volunteer_by_code(session, code)
    if not may_see_volunteer(scope, directory, volunteer.unit_id):
        raise NotFound(f"no volunteer {code!r}")
    return volunteer


def managed_volunteer(
    session: Session, user: User, scope: Scope, directory: Directory, code: str
) -> Volunteer:
    """A volunteer of a unit the caller manages (403 for one they only see)."""
    volunteer = seen_volunteer(session, scope, directory, code)
    if not identity_visible(user, scope, directory, volunteer.unit_id):
        raise Forbidden(f"volunteer {code} belongs to a unit you do not manage")
    return volunteer


def seen_team(session: Session, scope: Scope, code: str) -> Team:
    team = team_by_code(session, code)
    if not (scope.everywhere or (scope.unit_ids is not None and team.town_id in scope.unit_ids)):
        raise NotFound(f"no team {code!r}")
    return team


def own_reporter_id(session: Session, user: User, own: OwnReports) -> int:
    """The reporter whose points a reporter's token holds: its own, or the app's user."""
    reporter_id = own.reporter_id
    if reporter_id is None and not user.is_app:
        reporter_id = session.scalar(select(Reporter.id).where(Reporter.user_id == user.id))
    if reporter_id is None:
        raise NotFound("no points yet: nothing reported has been verified")
    return reporter_id
