"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import basemap, errors, openapi, pages
from api.assets import mount_static
from api.basemap import configured_basemap, open_archive
from api.events import EventHub
from api.events import router as events_router
from api.middleware import BodyLimit, StoreGate, StoreReadiness
from api.routers import (
    buildings,
    cases,
    docs,
    health,
    hotspots,
    ledgers,
    locate,
    mall,
    messages,
    my,
    open311,
    operations,
    patrol_plans,
    patrols,
    points,
    ratings,
    rewards,
    summaries,
    units,
    volunteers,
)
from api.settings import Settings
from api.workers import Workers
from grids.city.locator import GridLocator, LocatorCache, store_revision
from grids.db import make_engine, session_factory
from grids.election import RunnerElection
from grids.errors import NotReady

log = logging.getLogger("gridwatch")


def create_app(settings: Settings | None = None) -> FastAPI:
    """An app for explicit settings (tests) or the environment's (``gridwatch serve``)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)

    def load_locator() -> GridLocator:
        with sessions() as session:
            return GridLocator.from_store(
                session,
                cache_path=settings.cellmap_path,
                timezone=settings.timezone,
                res=settings.cell_resolution,
                snap_meters=settings.snap_meters,
            )

    def revision() -> int:
        with sessions() as session:
            return store_revision(session)

    locators = LocatorCache(load_locator, revision)
    case_config = settings.case_config()

    def sweep_photos() -> None:
        """Photos a killed process left half-done: finished or removed (see PhotoStore)."""
        if case_config.photos is None:
            return
        with sessions() as session:
            renamed, removed = case_config.photos.sweep(session)
        if renamed or removed:
            log.warning("photos left by a stopped process: %d kept, %d removed", renamed, removed)

    readiness = StoreReadiness(settings.database_url)
    workers = Workers(
        sessions,
        locators,
        case_config,
        escalation_interval_s=settings.escalation_interval_s,
        webhook_interval_s=settings.webhook_interval_s,
        election=RunnerElection(engine),
        ready=lambda: readiness.problem() is None,
    )

    hub = EventHub(engine)
    archive = open_archive(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        problem = readiness.problem()
        if problem is not None:  # answer 503 until `gridwatch init` has run
            log.warning("%s", problem)
        else:
            sweep_photos()
            try:  # build or load the cell map now, not on the first request
                locators.get()
            except NotReady as exc:
                log.warning("%s", exc)
        workers.start()
        hub.start()
        yield
        app.state.stopping = True
        hub.stop()
        workers.stop()
        engine.dispose()
        if archive is not None:
            archive.close()

    app = FastAPI(
        title="gridwatch",
        version="0.1.0",
        summary="Grid-based community governance: route reports to the grid officer on duty.",
        lifespan=lifespan,
        docs_url=None,  # api/routers/docs.py serves them with their scripts, offline
        redoc_url=None,
        responses=openapi.ERRORS,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.locators = locators
    app.state.case_config = case_config
    app.state.community = settings.community_config()
    app.state.event_hub = hub
    app.state.tile_archive = archive
    app.state.basemap = configured_basemap(settings, archive)
    app.state.stopping = False
    errors.install(app)
    app.add_middleware(
        BodyLimit,
        max_multipart_bytes=int(
            (settings.max_photos + 1) * settings.max_photo_mb * 1024 * 1024 * 1.2
        ),
        max_body_bytes=int(settings.max_json_mb * 1024 * 1024),
    )
    app.add_middleware(StoreGate, readiness=readiness)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(locate.router, prefix="/api/v1")
    app.include_router(units.router, prefix="/api/v1")
    app.include_router(messages.router, prefix="/api/v1")  # before cases' /{case_id}/{action}
    app.include_router(cases.router, prefix="/api/v1")
    app.include_router(my.router, prefix="/api/v1")
    app.include_router(events_router, prefix="/api/v1")
    app.include_router(rewards.router, prefix="/api/v1")
    app.include_router(patrols.router, prefix="/api/v1")
    app.include_router(patrol_plans.router, prefix="/api/v1")
    app.include_router(volunteers.router, prefix="/api/v1")
    app.include_router(ratings.router, prefix="/api/v1")
    app.include_router(points.router, prefix="/api/v1")
    app.include_router(mall.router, prefix="/api/v1")
    app.include_router(buildings.router, prefix="/api/v1")
    app.include_router(operations.router, prefix="/api/v1")
    app.include_router(ledgers.router, prefix="/api/v1")
    app.include_router(patrol_plans.pages)
    app.include_router(open311.router)
    app.include_router(pages.router)
    app.include_router(hotspots.router, prefix="/api/v1")
    app.include_router(hotspots.pages)
    app.include_router(summaries.router, prefix="/api/v1")
    app.include_router(summaries.pages)
    app.include_router(basemap.router)
    mount_static(app)
    open311.install(app)
    openapi.install(app)
    return app
