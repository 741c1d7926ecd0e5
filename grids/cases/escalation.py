"""Deadlines and escalation: a missed deadline moves a case one rung up the ladder.

The deadlines are columns of the case, so a restarted service (or a cron
job running ``gridwatch escalate --once``) finds every missed one; each
deadline escalates a case once, and the escalation is an audit row. The overdue cases
are claimed ``FOR UPDATE SKIP LOCKED`` (PostgreSQL): a second checker running at the same
time (another process, the cron job) passes over the cases the first one holds, and reads
the ones it has finished in their escalated state, so no case is escalated twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.cases.intake import CaseConfig
from grids.cases.lifecycle import Action, apply_action
from grids.cases.models import OPEN_STATUSES, Case
from grids.city.directory import Directory
from grids.db import utcnow

# which deadline a case in each state is working towards
DEADLINE_OF_STATUS = {
    "routed": "acknowledge",
    "acknowledged": "verify",
    "verified": "close",
    "in_progress": "close",
}


def escalate_overdue(
    session: Session, directory: Directory, config: CaseConfig, *, now: dt.datetime | None = None
) -> list[int]:
    """Escalate every open case whose current deadline has passed and not yet escalated
    (the ones another transaction is escalating right now are left to it)."""
    now = now or utcnow()
    overdue = session.scalars(
        select(Case)
        .where(Case.status.in_(OPEN_STATUSES), Case.next_due.is_not(None), Case.next_due < now)
        .order_by(Case.next_due, Case.id)
        .with_for_update(skip_locked=True, of=Case)
    ).all()
    escalated = []
    for item in overdue:
        deadline = DEADLINE_OF_STATUS.get(item.status)
        if deadline is None or deadline in item.missed.split(","):
            continue
        apply_action(
            session,
            directory,
            config,
            item,
            Action("escalate", note=f"missed the {deadline} deadline", deadline=deadline),
            user=None,
            now=now,
        )
        escalated.append(item.id)
    return escalated
