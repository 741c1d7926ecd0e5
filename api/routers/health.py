"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from grids.db import current_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, object]:
    """``ok`` when the database answers; also says which schema revision it is at."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "schema": current_revision(session.get_bind())}
