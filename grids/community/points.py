"""The one points ledger: an account per volunteer and per reporter, every change an entry
with its reason.

Credits come from verified reports (``grids.cases.rewards``), service hours of a month
and event duty; each has a ``ref`` (``case:17``, ``hours:2026-11``, ``duty:OP1``) that is
unique per account, so crediting again changes nothing. The balance is kept on the account
and changed only by a conditional ``UPDATE`` in the entry's transaction (see ``mall``), so
it is never below zero; the entries sum to it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from grids.community.hours import service_hours
from grids.community.models import PointsAccount, PointsEntry, Volunteer
from grids.errors import InvalidInput

POINTS_PER_HOUR = 2
"""Service hours earn this many points each (whole hours of a month)."""
POINTS_PER_DUTY_HOUR = 3
"""Hours of event duty earn this many points each."""


def account_for(
    session: Session, *, volunteer_id: int | None = None, reporter_id: int | None = None
) -> PointsAccount:
    """The account of a volunteer or a reporter, opened on first use."""
    if (volunteer_id is None) == (reporter_id is None):
        raise InvalidInput("an account belongs to one volunteer or one reporter")
    column = PointsAccount.volunteer_id if volunteer_id is not None else PointsAccount.reporter_id
    holder = volunteer_id if volunteer_id is not None else reporter_id
    account = session.scalar(select(PointsAccount).where(column == holder))
    if account is not None:
        return account
    try:
        with session.begin_nested():  # two first credits at once: one opens it
            account = PointsAccount(volunteer_id=volunteer_id, reporter_id=reporter_id, balance=0)
            session.add(account)
    except IntegrityError:
        account = session.scalar(select(PointsAccount).where(column == holder))
        assert account is not None
    return account


def credit(
    session: Session,
    account: PointsAccount,
    points: int,
    *,
    source: str,
    ref: str,
    reason: str,
    at: dt.datetime,
    case_id: int | None = None,
) -> PointsEntry | None:
    """Add ``points`` (> 0) to an account once per ``ref``; None if it was credited before."""
    if points <= 0:
        raise InvalidInput(f"a credit is positive, got {points}")
    exists = session.scalar(
        select(PointsEntry.id).where(PointsEntry.account_id == account.id, PointsEntry.ref == ref)
    )
    if exists is not None:
        return None
    entry = PointsEntry(
        account_id=account.id,
        delta=points,
        source=source,
        ref=ref,
        reason=reason,
        case_id=case_id,
        at=at,
    )
    session.add(entry)
    session.execute(
        update(PointsAccount)
        .where(PointsAccount.id == account.id)
        .values(balance=PointsAccount.balance + points)
    )
    session.flush()
    session.refresh(account)
    return entry


def report_points(case_id: ColumnElement[int] | Any) -> ColumnElement[bool]:
    """Join condition: the points entry a verified report earned (outer-join it)."""
    return and_(PointsEntry.case_id == case_id, PointsEntry.source == "report")


def reporter_points_between(
    session: Session, reporter_id: int, since: dt.datetime, until: dt.datetime
) -> int:
    """Points a reporter earned for reports in [since, until) (the daily cap)."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0))
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .where(
            PointsAccount.reporter_id == reporter_id,
            PointsEntry.source == "report",
            PointsEntry.at >= since,
            PointsEntry.at < until,
        )
    )
    return int(total or 0)


def credit_hours(
    session: Session, volunteer: Volunteer, month: str, hours: float, *, at: dt.datetime
) -> PointsEntry | None:
    """The points for a month's service hours (whole hours), once per month."""
    points = math.floor(hours) * POINTS_PER_HOUR
    if points <= 0:
        return None
    return credit(
        session,
        account_for(session, volunteer_id=volunteer.id),
        points,
        source="hours",
        ref=f"hours:{month}",
        reason=f"{hours:.1f} h of service in {month} × {POINTS_PER_HOUR}",
        at=at,
    )


def credit_month(
    session: Session, month: str, timezone: str, *, at: dt.datetime, volunteers: Any = None
) -> int:
    """Credit each active volunteer's points for a month's patrol and activity hours (event
    duty earns its points when its operation closes); returns how many were credited."""
    since, until = month_bounds(month, timezone)
    if volunteers is None:
        volunteers = session.scalars(select(Volunteer).where(Volunteer.active.is_(True))).all()
    credited = 0
    for volunteer in volunteers:
        hours = service_hours(session, volunteer, since, until)
        if credit_hours(session, volunteer, month, hours.patrol + hours.activity, at=at):
            credited += 1
    return credited


# ----------------------------------------------------------------- statements
def month_bounds(month: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local month given as ``YYYY-MM``."""
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInput(f"month {month!r} must be YYYY-MM, e.g. 2026-11") from exc
    tz = ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(), tz)
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, dt.datetime.combine(following, dt.time(), tz)


def statement(
    session: Session, account: PointsAccount, month: str, timezone: str
) -> dict[str, Any]:
    """A month of an account: the opening balance, every entry with its reason, the closing."""
    start, end = month_bounds(month, timezone)
    opening = session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.account_id == account.id, PointsEntry.at < start
        )
    )
    entries = session.scalars(
        select(PointsEntry)
        .where(PointsEntry.account_id == account.id, PointsEntry.at >= start, PointsEntry.at < end)
        .order_by(PointsEntry.at, PointsEntry.id)
    ).all()
    tz = ZoneInfo(timezone)
    rows = [
        {
            "at": e.at.astimezone(tz).isoformat(),
            "points": e.delta,
            "source": e.source,
            "reason": e.reason,
        }
        for e in entries
    ]
    closing = int(opening or 0) + sum(e.delta for e in entries)
    return {
        "month": month,
        "opening": int(opening or 0),
        "credits": sum(e.delta for e in entries if e.delta > 0),
        "debits": -sum(e.delta for e in entries if e.delta < 0),
        "closing": closing,
        "entries": rows,
        "balance": account.balance,
    }


def leaderboard(
    session: Session,
    *,
    unit_ids: set[int] | None = None,
    team_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Volunteers by points earned (credits, not spending) in the period; pseudonyms only."""
    earned = func.sum(PointsEntry.delta)
    query = (
        select(Volunteer.pseudonym, Volunteer.kind, earned)
        .join(PointsAccount, PointsAccount.volunteer_id == Volunteer.id)
        .join(PointsEntry, PointsEntry.account_id == PointsAccount.id)
        .where(PointsEntry.delta > 0)
    )
    if team_id is not None:
        query = query.where(Volunteer.team_id == team_id)
    if unit_ids is not None:  # a town and the communities under it
        query = query.where(Volunteer.unit_id.in_(unit_ids))
    if since is not None:
        query = query.where(PointsEntry.at >= since)
    if until is not None:
        query = query.where(PointsEntry.at < until)
    rows = session.execute(
        query.group_by(Volunteer.id, Volunteer.pseudonym, Volunteer.kind)
        .order_by(earned.desc(), Volunteer.pseudonym)
        .limit(limit)
    ).all()
    return [
        {"rank": n, "volunteer": name, "kind": kind, "points": int(points)}
        for n, (name, kind, points) in enumerate(rows, start=1)
    ]
