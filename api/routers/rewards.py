"""Reward totals (红包 and points) per reporter, grid or town."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from api.auth import CurrentUser
from api.deps import SessionDep
from grids.cases.intake import require_role
from grids.cases.rewards import totals

router = APIRouter(tags=["rewards"])


@router.get("/rewards/totals")
def reward_totals(
    session: SessionDep,
    user: CurrentUser,
    by: str = "reporter",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Totals of the ledger, e.g. ``/api/v1/rewards/totals?by=town&since=2026-11-01``.

    Reporters appear by pseudonym only.
    """
    require_role(user, "dispatcher", "planner", "admin")
    return totals(session, by=by, since=since, until=until)
