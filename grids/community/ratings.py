"""Evaluations by team leaders and the monthly star rating (一星 to 五星).

The rating of a month looks at the year up to that month's end: the service hours
(``hours``) and the mean of the evaluations, against the thresholds of the settings
file, and says why: ``42 h this year, mean evaluation 4.6 → ★★★★``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.community.config import CommunityConfig, StarRule
from grids.community.hours import Hours, service_hours
from grids.community.models import Evaluation, Rating, Volunteer
from grids.community.points import month_bounds
from grids.db import utcnow
from grids.errors import InvalidInput


def evaluate(
    session: Session, volunteer: Volunteer, score: int, note: str, user: User | None
) -> Evaluation:
    """A team leader's evaluation, 1 (poor) to 5 (excellent), with a note."""
    if not 1 <= score <= 5:
        raise InvalidInput(f"an evaluation is 1 to 5, got {score}")
    evaluation = Evaluation(
        volunteer_id=volunteer.id, score=score, note=note, by_user_id=user.id if user else None
    )
    session.add(evaluation)
    session.flush()
    return evaluation


@dataclass(frozen=True)
class StarRating:
    month: str
    stars: int
    hours: Hours
    mean_score: float | None
    evaluations: int
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "stars": self.stars,
            "shown": "★" * self.stars,
            "hours": self.hours.to_dict(),
            "mean_evaluation": None if self.mean_score is None else round(self.mean_score, 2),
            "evaluations": self.evaluations,
            "reason": self.reason,
        }


def _meets(rule: StarRule, hours: float, mean: float | None) -> bool:
    if hours < rule.hours:
        return False
    return rule.mean_score is None or (mean is not None and mean >= rule.mean_score)


def _needs(rule: StarRule) -> str:
    score = f" and a mean evaluation of {rule.mean_score:g}" if rule.mean_score else ""
    return f"{'★' * rule.stars} needs {rule.hours:g} h{score}"


def rate(session: Session, config: CommunityConfig, volunteer: Volunteer, month: str) -> StarRating:
    """The stars of a volunteer for a month, from the year up to that month's end."""
    _, end = month_bounds(month, config.timezone)
    start = dt.datetime(int(month[:4]), 1, 1, tzinfo=ZoneInfo(config.timezone))
    hours = service_hours(session, volunteer, start, end)
    mean, count = session.execute(
        select(func.avg(Evaluation.score), func.count()).where(
            Evaluation.volunteer_id == volunteer.id,
            Evaluation.at >= start,
            Evaluation.at < end,
        )
    ).one()
    mean_score = float(mean) if mean is not None else None
    stars = max([1, *(r.stars for r in config.stars if _meets(r, hours.total, mean_score))])
    shown_mean = f"mean evaluation {mean_score:.1f}" if mean_score is not None else "no evaluations"
    reason = f"{hours.total:.0f} h this year, {shown_mean} → {'★' * stars}"
    following = next((r for r in config.stars if r.stars == stars + 1), None)
    if following is not None:
        reason += f" ({_needs(following)})"
    return StarRating(month, stars, hours, mean_score, int(count), reason)


def rate_month(session: Session, config: CommunityConfig, month: str) -> int:
    """Rate every active volunteer for a month and keep the ratings; returns how many."""
    ratings = {
        r.volunteer_id: r for r in session.scalars(select(Rating).where(Rating.month == month))
    }
    volunteers = session.scalars(select(Volunteer).where(Volunteer.active.is_(True))).all()
    for volunteer in volunteers:
        result = rate(session, config, volunteer, month)
        row = ratings.get(volunteer.id) or Rating(volunteer_id=volunteer.id, month=month)
        row.stars, row.hours, row.mean_score = result.stars, result.hours.total, result.mean_score
        row.reason, row.rated_at = result.reason[:300], utcnow()
        session.add(row)
    session.flush()
    return len(volunteers)
