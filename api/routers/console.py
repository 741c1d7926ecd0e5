"""The dispatch console: one page over the API (queue, map, actions), no build step."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from api.assets import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console")
def console() -> FileResponse:
    return FileResponse(STATIC_DIR / "console" / "index.html", media_type="text/html")
