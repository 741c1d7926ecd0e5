"""Reward totals (红包 and points) per reporter, grid or town."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.deps import SessionDep
from api.params import Instant
from grids.cases.intake import require_role
from grids.cases.rewards import totals
from grids.limits import as_utc

router = APIRouter(tags=["rewards"])


@router.get("/rewards/totals")
def reward_totals(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    own: CurrentOwn,
    by: str = "reporter",
    since: Annotated[Instant | None, Query(description="awarded from (ISO 8601)")] = None,
    until: Annotated[Instant | None, Query(description="awarded before (ISO 8601)")] = None,
) -> list[dict[str, Any]]:
    """Totals of the ledger, e.g. ``/api/v1/rewards/totals?by=town&since=2026-11-01``.

    Staff see the awards of the cases in their scope, reporters by pseudonym only; a
    reporter sees their own (an app: those of the user named by ``?reporter=ID``).
    """
    require_role(user, "reporter", "dispatcher", "planner", "admin")
    tz = request.app.state.settings.timezone
    since, until = as_utc(since, tz, "since"), as_utc(until, tz, "until")
    if user.role == "reporter":
        return totals(session, by=by, own=own, since=since, until=until)
    return totals(session, by=by, scope=scope, since=since, until=until)
