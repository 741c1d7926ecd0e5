"""Rewards (红包) and points for verified valid reports, with daily caps per reporter.

Every award is a row of the ledger; a case earns at most one (unique key),
rejected and duplicate reports earn nothing, and a reporter's awards of one
local day never pass the caps.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter
from grids.cases.intake import CaseConfig
from grids.cases.models import Case, RewardEntry
from grids.city.models import Category, Unit
from grids.errors import InvalidInput

GROUPS = ("reporter", "grid", "town")


def award(
    session: Session, config: CaseConfig, item: Case, *, now: dt.datetime
) -> RewardEntry | None:
    """The ledger row for a case just verified valid, or None when nothing is due."""
    if item.reporter_id is None or item.duplicate_of_id is not None:
        return None
    category = session.get(Category, item.category_id)
    assert category is not None
    tz = ZoneInfo(config.timezone)
    local = now.astimezone(tz)
    day_start = dt.datetime.combine(local.date(), dt.time(), tz)
    paid_yuan, paid_points = session.execute(
        select(
            func.coalesce(func.sum(RewardEntry.amount_yuan), 0),
            func.coalesce(func.sum(RewardEntry.points), 0),
        ).where(
            RewardEntry.reporter_id == item.reporter_id,
            RewardEntry.awarded_at >= day_start,
            RewardEntry.awarded_at < day_start + dt.timedelta(days=1),
        )
    ).one()
    cap_yuan = Decimal(str(config.reward_daily_cap_yuan))
    yuan = max(Decimal(0), min(Decimal(category.reward_yuan), cap_yuan - Decimal(paid_yuan)))
    points = max(0, min(category.points, config.reward_daily_cap_points - int(paid_points)))
    capped = yuan < category.reward_yuan or points < category.points
    if yuan == 0 and points == 0:
        return None
    entry = RewardEntry(
        case_id=item.id,
        reporter_id=item.reporter_id,
        grid_id=item.grid_id,
        town_id=item.town_id,
        amount_yuan=yuan,
        points=points,
        note="daily cap reached" if capped else "",
        awarded_at=now,
    )
    session.add(entry)
    return entry


def totals(
    session: Session,
    *,
    by: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Sum of awards per reporter (pseudonym), grid or town over a period."""
    if by not in GROUPS:
        raise InvalidInput(f"by must be one of {list(GROUPS)}, got {by!r}")
    if by == "reporter":
        key = Reporter.pseudonym
        query = select(
            key, func.sum(RewardEntry.amount_yuan), func.sum(RewardEntry.points), func.count()
        ).join(Reporter, Reporter.id == RewardEntry.reporter_id)
    else:
        column = RewardEntry.grid_id if by == "grid" else RewardEntry.town_id
        key = Unit.code
        query = select(
            key, func.sum(RewardEntry.amount_yuan), func.sum(RewardEntry.points), func.count()
        ).join(Unit, Unit.id == column)
    if since is not None:
        query = query.where(RewardEntry.awarded_at >= since)
    if until is not None:
        query = query.where(RewardEntry.awarded_at < until)
    rows = session.execute(query.group_by(key).order_by(key)).all()
    return [
        {
            by: name,
            "yuan": str(Decimal(yuan).quantize(Decimal("0.01"))),
            "points": int(points),
            "awards": int(n),
        }
        for name, yuan, points, n in rows
    ]
