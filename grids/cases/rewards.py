"""Rewards (红包) and points for verified valid reports, with daily caps per reporter.

Every award is a row of the money ledger and its points an entry of the reporter's
account in the one points ledger (``grids.community.points``); a case earns at most one
award (unique keys), rejected and duplicate reports and reports without a reporter (staff, an app
that named none of its users) earn nothing, and a reporter's awards of one
local day never pass the caps. The verify step's audit row records the award,
or why there is none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter
from grids.accounts.reporters import OwnReports
from grids.accounts.scope import Scope
from grids.cases.intake import CaseConfig
from grids.cases.models import Case, RewardEntry
from grids.cases.queries import own_conditions, scope_conditions
from grids.city.models import Category, Unit
from grids.community.models import PointsEntry
from grids.community.points import account_for, credit, report_points, reporter_points_between
from grids.errors import InvalidInput

GROUPS = ("reporter", "grid", "town")
CAP_REACHED = "daily cap reached"
NO_REPORTER = "no reporter to reward (a staff report, or an app report naming no user)"
FOUND_INVALID = "the report was found invalid"


def award(
    session: Session, config: CaseConfig, item: Case, *, now: dt.datetime
) -> tuple[RewardEntry | None, str]:
    """The ledger row for a case just verified valid, or None and why nothing is due."""
    if item.reporter_id is None:
        return None, NO_REPORTER
    if item.duplicate_of_id is not None:
        return None, "a duplicate earns nothing"
    category = session.get(Category, item.category_id)
    assert category is not None
    tz = ZoneInfo(config.timezone)
    local = now.astimezone(tz)
    day_start = dt.datetime.combine(local.date(), dt.time(), tz)
    day_end = day_start + dt.timedelta(days=1)
    paid_yuan = session.scalar(
        select(func.coalesce(func.sum(RewardEntry.amount_yuan), 0)).where(
            RewardEntry.reporter_id == item.reporter_id,
            RewardEntry.awarded_at >= day_start,
            RewardEntry.awarded_at < day_end,
        )
    )
    paid_points = reporter_points_between(session, item.reporter_id, day_start, day_end)
    yuan, points, capped = within_caps(
        config, Decimal(category.reward_yuan), category.points, Decimal(paid_yuan or 0), paid_points
    )
    if yuan == 0 and points == 0:
        return None, CAP_REACHED
    entry = RewardEntry(
        case_id=item.id,
        reporter_id=item.reporter_id,
        grid_id=item.grid_id,
        town_id=item.town_id,
        amount_yuan=yuan,
        note=CAP_REACHED if capped else "",
        awarded_at=now,
    )
    session.add(entry)
    if points > 0:
        credit(
            session,
            account_for(session, reporter_id=item.reporter_id),
            points,
            source="report",
            ref=f"case:{item.id}",
            reason=f"verified report #{item.id} ({category.code})",
            at=now,
            case_id=item.id,
        )
    return entry, ""


def within_caps(
    config: CaseConfig, yuan: Decimal, points: int, paid_yuan: Decimal, paid_points: int
) -> tuple[Decimal, int, bool]:
    """What a reporter who was paid ``paid_*`` today gets of an award: (yuan, points, capped)."""
    cap_yuan = Decimal(str(config.reward_daily_cap_yuan))
    got_yuan = max(Decimal(0), min(yuan, cap_yuan - paid_yuan))
    got_points = max(0, min(points, config.reward_daily_cap_points - paid_points))
    return got_yuan, got_points, got_yuan < yuan or got_points < points


def reward_view(session: Session, entry: RewardEntry) -> dict[str, Any]:
    """An award as the API and the audit row show it: the yuan and the points it earned."""
    points = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(report_points(entry.case_id))
    )
    return _shown(entry, points)


def _shown(entry: RewardEntry, points: int | None) -> dict[str, Any]:
    return {"yuan": _yuan(entry.amount_yuan), "points": int(points or 0), "note": entry.note}


def rewards_of(session: Session, case_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The awards of many cases as :func:`reward_view` shows them, in two queries: a page
    of the queue must not ask twice per case."""
    if not case_ids:
        return {}
    entries = session.scalars(select(RewardEntry).where(RewardEntry.case_id.in_(case_ids))).all()
    if not entries:
        return {}
    points = dict(
        session.execute(
            select(PointsEntry.case_id, func.sum(PointsEntry.delta))
            .where(report_points(PointsEntry.case_id), PointsEntry.case_id.in_(case_ids))
            .group_by(PointsEntry.case_id)
        ).all()
    )
    return {e.case_id: _shown(e, points.get(e.case_id)) for e in entries}


def totals(
    session: Session,
    *,
    by: str,
    scope: Scope | None = None,
    own: OwnReports | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Sum of awards per reporter (pseudonym), grid or town over a period: of the cases in
    ``scope`` (staff), or of the caller's ``own`` reports (a reporter)."""
    if by not in GROUPS:
        raise InvalidInput(f"by must be one of {list(GROUPS)}, got {by!r}")
    points = func.sum(func.coalesce(PointsEntry.delta, 0))
    if by == "reporter":
        key = Reporter.pseudonym
        query = select(key, func.sum(RewardEntry.amount_yuan), points, func.count()).join(
            Reporter, Reporter.id == RewardEntry.reporter_id
        )
    else:
        column = RewardEntry.grid_id if by == "grid" else RewardEntry.town_id
        key = Unit.code
        query = select(key, func.sum(RewardEntry.amount_yuan), points, func.count()).join(
            Unit, Unit.id == column
        )
    query = query.join(Case, Case.id == RewardEntry.case_id).outerjoin(
        PointsEntry, report_points(RewardEntry.case_id)
    )
    if own is not None:
        query = query.where(*own_conditions(own))
    elif scope is not None:
        query = query.where(*scope_conditions(scope))
    if since is not None:
        query = query.where(RewardEntry.awarded_at >= since)
    if until is not None:
        query = query.where(RewardEntry.awarded_at < until)
    rows = session.execute(query.group_by(key).order_by(key)).all()
    return [
        {
            by: name,
            "yuan": _yuan(yuan),
            "points": int(points),
            "awards": int(n),
        }
        for name, yuan, points, n in rows
    ]


def _yuan(value: Any) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))
