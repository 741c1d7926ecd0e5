"""Service hours of volunteers, from three sources:

- patrol check-ins: a visit's dwell — each run of a member's check-ins with no pause
  longer than ``SHIFT_GAP`` (30 min) counts from its first to its last check-in, as in
  the team's attendance (考勤);
- event duty: a volunteer who checked in at an operation's point during a shift stands
  duty from their first check-in there to the shift's end;
- recorded activities (a training, a campaign) entered by a team leader.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.community.models import DutyCheckIn, OperationShift, ServiceActivity, Volunteer
from grids.db import utcnow
from grids.errors import InvalidInput
from grids.patrols.models import CheckIn, TeamMember
from grids.patrols.service import patrol_shifts


@dataclass(frozen=True)
class Hours:
    patrol: float
    duty: float
    activity: float

    @property
    def total(self) -> float:
        return self.patrol + self.duty + self.activity

    def to_dict(self) -> dict[str, float]:
        return {
            "patrol": round(self.patrol, 2),
            "duty": round(self.duty, 2),
            "activity": round(self.activity, 2),
            "total": round(self.total, 2),
        }


def patrol_hours(
    session: Session, volunteer: Volunteer, since: dt.datetime, until: dt.datetime
) -> float:
    """Hours of a volunteer's patrol check-ins in [since, until) (as any team's member)."""
    members = select(TeamMember.id).where(
        or_(TeamMember.id == volunteer.member_id, TeamMember.code == volunteer.code)
    )
    times = list(
        session.scalars(
            select(CheckIn.at)
            .where(CheckIn.member_id.in_(members), CheckIn.at >= since, CheckIn.at < until)
            .order_by(CheckIn.at)
        )
    )
    return sum((b - a).total_seconds() for a, b in patrol_shifts(times)) / 3600


def duty_hours(
    session: Session, volunteer: Volunteer, since: dt.datetime, until: dt.datetime
) -> float:
    """Hours of event duty: from the first check-in of each shift to the shift's end."""
    rows = session.execute(
        select(OperationShift.ends_at, func.min(DutyCheckIn.at))
        .join(DutyCheckIn, DutyCheckIn.shift_id == OperationShift.id)
        .where(
            DutyCheckIn.volunteer_id == volunteer.id,
            OperationShift.starts_at >= since,
            OperationShift.starts_at < until,
        )
        .group_by(OperationShift.id, OperationShift.ends_at)
    ).all()
    return sum(max(0.0, (end - first).total_seconds()) for end, first in rows) / 3600


def activity_hours(
    session: Session, volunteer: Volunteer, since: dt.datetime, until: dt.datetime
) -> float:
    total = session.scalar(
        select(func.coalesce(func.sum(ServiceActivity.hours), 0.0)).where(
            ServiceActivity.volunteer_id == volunteer.id,
            ServiceActivity.started_at >= since,
            ServiceActivity.started_at < until,
        )
    )
    return float(total or 0.0)


def service_hours(
    session: Session, volunteer: Volunteer, since: dt.datetime, until: dt.datetime
) -> Hours:
    """A volunteer's hours in [since, until), by source."""
    return Hours(
        patrol_hours(session, volunteer, since, until),
        duty_hours(session, volunteer, since, until),
        activity_hours(session, volunteer, since, until),
    )


def record_activity(
    session: Session,
    volunteer: Volunteer,
    *,
    started_at: dt.datetime,
    hours: float,
    note: str,
    user: User | None,
) -> ServiceActivity:
    """Record hours of an activity (a training, a campaign) for a volunteer."""
    if started_at.tzinfo is None:
        raise InvalidInput("started_at needs a time zone offset, e.g. +08:00")
    if started_at > utcnow():
        raise InvalidInput("an activity is recorded after it happened, not before")
    if not 0 < hours <= 24:
        raise InvalidInput(f"hours must be more than 0 and at most 24, got {hours}")
    activity = ServiceActivity(
        volunteer_id=volunteer.id,
        started_at=started_at,
        hours=hours,
        note=note,
        recorded_by_id=user.id if user else None,
    )
    session.add(activity)
    session.flush()
    return activity
