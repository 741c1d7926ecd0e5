"""Wiring of the analytics: hot-spot API and maps, summaries, static files.

``install(app)`` adds them to an app once; it is safe to call on an app that
already has them (the test helpers call it on every app they build).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.assets import mount_static
from api.routers import hotspots, summaries


def install(app: FastAPI) -> FastAPI:
    """Include the analytics routers and the static files unless the app has them."""
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/api/v1/hotspots" not in paths:
        app.include_router(hotspots.router, prefix="/api/v1")
    if "/maps/hotspots" not in paths:
        app.include_router(hotspots.pages)
    if "/api/v1/summaries" not in paths:
        app.include_router(summaries.router, prefix="/api/v1")
    if "/reports/{period}" not in paths:
        app.include_router(summaries.pages)
    mount_static(app)
    return app
