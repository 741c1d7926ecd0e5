"""Reward totals (红包 and points) per reporter, grid or town."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.deps import SessionDep
from grids.cases.intake import require_role
from grids.cases.rewards import totals

router = APIRouter(tags=["rewards"])


@router.get("/rewards/totals")
def reward_totals(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    own: CurrentOwn,
    by: str = "reporter",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Totals of the ledger, e.g. ``/api/v1/rewards/totals?by=town&since=2026-11-01``.

    Staff see the awards of the cases in their scope, reporters by pseudonym only; a
    reporter sees their own (an app: those of the user named by ``?reporter=ID``).
    """
    require_role(user, "reporter", "dispatcher", "planner", "admin")
    if user.role == "reporter":
        return totals(session, by=by, own=own, since=since, until=until)
    return totals(session, by=by, scope=scope, since=since, until=until)
