"""What a reporter sees of their own reports: each step in plain words, and rewards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import CurrentOwn
from api.deps import SessionDep
from grids.cases.views import my_cases

router = APIRouter(tags=["reporters"])


@router.get("/my/cases")
def my_reports(session: SessionDep, own: CurrentOwn) -> list[dict[str, Any]]:
    """Your reports, newest first, with every public note and state change and the reward.

    A report merged as a duplicate follows the original's outcome. An app's token says
    which of its users with ``?reporter=ID``.
    """
    return my_cases(session, own)
