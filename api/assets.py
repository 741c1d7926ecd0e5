"""gridwatch's own static files: the vendored map libraries under ``/static/vendor``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_static(app: FastAPI) -> None:
    """Serve ``api/static`` at ``/static`` (once; calling it again does nothing)."""
    if not any(getattr(route, "path", None) == "/static" for route in app.routes):
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
