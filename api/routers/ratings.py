"""Evaluations and star ratings over HTTP: team leaders evaluate, a month is rated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import CurrentScope, CurrentUser
from api.community import STAFF, CommunityDep, managed_volunteer, seen_volunteer
from api.deps import LocatorDep, SessionDep
from grids.cases.intake import require_role
from grids.community.ratings import evaluate, rate, rate_month
from grids.db import transaction

router = APIRouter(tags=["volunteers"])


class EvaluationBody(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    note: str = Field(default="", max_length=500)


@router.post("/volunteers/{code}/evaluations", status_code=201)
def add_evaluation(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    code: str,
    body: EvaluationBody,
) -> dict[str, Any]:
    """A team leader's evaluation of a volunteer of a unit they manage."""
    require_role(user, "patrol_leader", "admin")
    with transaction(request.app.state.sessions) as session:
        volunteer = managed_volunteer(session, user, scope, locator.directory, code)
        row = evaluate(session, volunteer, body.score, body.note, user)
        return {"id": row.id, "score": row.score, "note": row.note}


@router.get("/volunteers/{code}/rating")
def volunteer_rating(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    code: str,
    month: str,
) -> dict[str, Any]:
    """The stars for a month with the reasons, e.g. ``42 h this year, mean evaluation 4.6 →
    ★★★★``."""
    require_role(user, *STAFF)
    volunteer = seen_volunteer(session, scope, locator.directory, code)
    result = rate(session, community, volunteer, month).to_dict()
    return {"code": code, "volunteer": volunteer.pseudonym, **result}


@router.post("/ratings")
def rate_all(
    request: Request, user: CurrentUser, community: CommunityDep, month: str
) -> dict[str, Any]:
    """Rate every active volunteer for a month and keep the ratings (admins)."""
    require_role(user, "admin")
    with transaction(request.app.state.sessions) as session:
        return {"month": month, "rated": rate_month(session, community, month)}
