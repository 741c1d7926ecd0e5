"""Buildings over HTTP: the map layer, a building with its head and cases, inspections,
counts per grid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import CurrentScope, CurrentUser
from api.community import STAFF, CommunityDep, today
from api.deps import LocatorDep, SessionDep
from api.uploads import json_and_photos, validated
from grids.accounts.users import Forbidden
from grids.cases.intake import require_role
from grids.community.buildings import (
    building_by_code,
    building_view,
    buildings_geojson,
    grid_counts,
    in_scope,
    record_inspection,
    save_building,
)
from grids.db import transaction
from grids.errors import NotFound

router = APIRouter(prefix="/buildings", tags=["buildings"])
INSPECTORS = ("officer", "dispatcher", "admin")


class BuildingBody(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    address: str = Field(max_length=300)
    units: int = Field(ge=0, description="Number of dwelling units")
    lat: float | None = None
    lon: float | None = None
    footprint: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon")
    head: str | None = Field(default=None, description="The building head's volunteer code")
    inspect_every_days: int = Field(default=90, ge=1)


class InspectionBody(BaseModel):
    on: dt.date
    findings: str = Field(default="", max_length=4000)
    next_due: dt.date | None = Field(default=None, description="Default: after the cycle")


@router.get("")
def layer(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
) -> dict[str, Any]:
    """The buildings in your scope as GeoJSON (footprints where known): the map layer."""
    require_role(user, *STAFF)
    return buildings_geojson(session, locator.directory, scope, today=today(community))


@router.get("/counts")
def counts(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
) -> list[dict[str, Any]]:
    """Per grid: buildings, dwelling units and overdue inspections (most overdue first)."""
    require_role(user, *STAFF)
    return grid_counts(session, locator.directory, scope, today=today(community))


@router.post("", status_code=201)
def create_building(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    body: BuildingBody,
) -> dict[str, Any]:
    """Create or update (by code) a building; its grid comes from the cell map."""
    require_role(user, "dispatcher", "admin")
    with transaction(request.app.state.sessions) as session:
        building = save_building(
            session,
            locator,
            code=body.code,
            name=body.name,
            address=body.address,
            units_count=body.units,
            lat=body.lat,
            lon=body.lon,
            footprint=body.footprint,
            head=body.head,
            inspect_every_days=body.inspect_every_days,
            today=today(community),
        )
        if not in_scope(scope, locator.directory, building):
            raise Forbidden("that building lies outside your scope")
        return building_view(session, building, locator.directory, today=today(community))


@router.get("/{code}")
def get_building(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    code: str,
) -> dict[str, Any]:
    """A building, its head (pseudonym), its next inspection, the cases linked to it."""
    require_role(user, *STAFF)
    building = building_by_code(session, code)
    if not in_scope(scope, locator.directory, building):
        raise NotFound(f"no building {code!r}")
    return building_view(session, building, locator.directory, today=today(community))


@router.post("/{code}/inspections", status_code=201)
async def inspect(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    code: str,
) -> dict[str, Any]:
    """Record an inspection (date, findings, the next due date): JSON, or multipart with
    ``inspection`` (the JSON) and ``photos`` (cleaned of EXIF like a case's)."""
    require_role(user, *INSPECTORS)
    raw, files = await json_and_photos(request, "inspection")
    body = validated(InspectionBody, raw, "inspection")
    store = request.app.state.case_config.photos
    stored = store.store_all(files, "inspection") if files else []
    try:
        with transaction(request.app.state.sessions) as session:
            building = building_by_code(session, code)
            if not in_scope(scope, locator.directory, building):
                raise NotFound(f"no building {code!r}")
            row = record_inspection(
                session,
                building,
                on=body.on,
                findings=body.findings,
                photos=[p.path for p in stored],
                user=user,
                next_due=body.next_due,
                today=today(community),
            )
            return {
                "id": row.id,
                "on": row.inspected_on.isoformat(),
                "next_due": row.next_due.isoformat(),
                "photos": len(row.photos),
            }
    except BaseException:
        store.discard(stored)
        raise
