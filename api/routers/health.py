"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, object]:
    """``ok`` when the database answers; also says which schema revision it is at."""
    schema = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"status": "ok", "schema": schema}
