"""Liveness and readiness: what answers and what does not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.errors import RETRY_AFTER_S
from grids.db import STORE_UNREACHABLE

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={503: {"description": "The store cannot be reached; says what still answers"}},
)
def healthz(request: Request) -> Any:
    """``ok`` when the store answers, with its schema revision; 503 with ``Retry-After``
    while it cannot be reached, saying so (``store``) and what still answers from memory
    (``locate``: the cell map and the rosters last loaded)."""
    locate = "ok" if request.app.state.locators.loaded else "not loaded"
    try:
        with request.app.state.sessions() as session:
            schema = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except STORE_UNREACHABLE as exc:
        return JSONResponse(
            {
                "status": "degraded",
                "store": f"unreachable ({type(exc.__cause__ or exc).__name__})",
                "locate": locate,
                "detail": "the store cannot be reached; reports and cases answer 503 until it "
                "is back, and the service reconnects by itself",
            },
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return {"status": "ok", "store": "ok", "schema": schema, "locate": locate}
