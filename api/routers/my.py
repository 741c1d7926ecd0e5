"""What a reporter sees of their own reports: each step in plain words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import or_, select

from api.auth import CurrentUser
from api.deps import SessionDep
from grids.accounts.models import Reporter
from grids.cases.models import Case, RewardEntry
from grids.cases.views import history
from grids.city.models import Category

router = APIRouter(tags=["reporters"])


@router.get("/my/cases")
def my_cases(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Your reports, newest first, with every public note and state change and the reward
    (红包 and points) each earned.

    A report merged as a duplicate follows the original's outcome.
    """
    own_reporters = select(Reporter.id).where(Reporter.user_id == user.id)
    rows = session.scalars(
        select(Case)
        .where(or_(Case.submitted_by_id == user.id, Case.reporter_id.in_(own_reporters)))
        .order_by(Case.id.desc())
        .limit(200)
    ).all()
    out = []
    for item in rows:
        followed = session.get(Case, item.duplicate_of_id) if item.duplicate_of_id else item
        assert followed is not None
        category = session.get(Category, item.category_id)
        assert category is not None
        reward = session.scalar(select(RewardEntry).where(RewardEntry.case_id == item.id))
        out.append(
            {
                "id": item.id,
                "category": {"code": category.code, "name": category.name},
                "description": item.description,
                "reported_at": item.reported_at.isoformat(timespec="seconds"),
                "status": followed.status,
                "duplicate_of": item.duplicate_of_id,
                "reward": (
                    {"yuan": str(reward.amount_yuan), "points": reward.points} if reward else None
                ),
                "steps": history(session, item, public=True)
                + (history(session, followed, public=True) if followed is not item else []),
            }
        )
    return out
