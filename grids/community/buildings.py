"""Rental buildings (楼栋/出租屋) and their building heads (楼栋长), in a "grid officer +
building head" model: each building is located in its grid, has a head, and is inspected
by officers on a cycle; a case reported within ``LINK_M`` of a building (or inside its
footprint) is linked to it when it is reported (``grids.cases.intake``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import numpy as np
import shapely
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from geo.crs import validate_coordinates
from geo.distance import degree_box, haversine_m
from geo.errors import GeoInputError
from grids.accounts.models import User
from grids.accounts.scope import Scope
from grids.cases.models import Case
from grids.city.directory import Directory
from grids.city.locator import GridLocator
from grids.community.models import Building, CaseBuilding, Inspection, Volunteer
from grids.errors import GridwatchError, ImportRefused, InvalidInput, NotFound

LINK_M = 15.0
"""A case reported this close to a building is linked to it."""
FOOTPRINT_REACH_M = 300.0
"""A footprint stays this close to its building's point: a building, not a block (and the
bound lets intake look for a case's building in a small box)."""


def save_building(
    session: Session,
    locator: GridLocator,
    *,
    code: str,
    name: str,
    address: str,
    units_count: int,
    lat: float | None = None,
    lon: float | None = None,
    footprint: dict[str, Any] | None = None,
    head: str | None = None,
    inspect_every_days: int = 90,
    today: dt.date,
) -> Building:
    """Create or update (by code) a building: a point, or a footprint (GeoJSON polygon)."""
    polygon: shapely.Polygon | None = None
    if footprint is not None:
        try:
            shape = shapely.geometry.shape(footprint)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"footprint is not a GeoJSON polygon ({exc})") from exc
        if not isinstance(shape, shapely.Polygon) or not shape.is_valid:
            raise InvalidInput("footprint must be one valid GeoJSON Polygon (WGS-84)")
        polygon = shape
        if lat is None or lon is None:
            centre = polygon.representative_point()
            lat, lon = centre.y, centre.x
    if lat is None or lon is None:
        raise InvalidInput("a building needs lat and lon, or a footprint")
    validate_coordinates([lat], [lon])
    if polygon is not None:
        corners = np.asarray(polygon.exterior.coords)
        reach = float(haversine_m(lat, lon, corners[:, 1], corners[:, 0]).max())
        if reach > FOOTPRINT_REACH_M:
            raise InvalidInput(
                f"the footprint reaches {reach:.0f} m from the building's point; a footprint "
                f"stays within {FOOTPRINT_REACH_M:.0f} m of it (check the polygon, lat and lon)"
            )
    if units_count < 0 or inspect_every_days < 1:
        raise InvalidInput("units_count must be 0 or more, inspect_every_days at least 1")
    index, _match, _distance = locator.cellmap.locate_one(lat, lon)
    grid = locator.directory.units[int(locator.unit_ids[index])] if index >= 0 else None
    town = locator.directory.ancestor(grid.id, "town") if grid else None
    head_row = None
    if head:
        head_row = session.scalar(select(Volunteer).where(Volunteer.code == head))
        if head_row is None:
            raise NotFound(f"no volunteer {head!r} to head the building")
    building = session.scalar(select(Building).where(Building.code == code))
    if building is None:
        building = Building(code=code, next_due=today)  # never inspected: due now
    building.name, building.address, building.units_count = name, address, units_count
    building.lat, building.lon, building.geom = lat, lon, shapely.Point(lon, lat)
    building.footprint = polygon
    building.grid_id = grid.id if grid else None
    building.town_id = town.id if town else None
    building.head_id = head_row.id if head_row else None
    building.inspect_every_days = inspect_every_days
    session.add(building)
    session.flush()
    return building


def building_by_code(session: Session, code: str) -> Building:
    building = session.scalar(select(Building).where(Building.code == code))
    if building is None:
        raise NotFound(f"no building {code!r}")
    return building


def in_scope(scope: Scope, directory: Directory, building: Building) -> bool:
    return building.grid_id is not None and scope.covers_grid(directory, building.grid_id)


def record_inspection(
    session: Session,
    building: Building,
    *,
    on: dt.date,
    findings: str,
    photos: list[str],
    user: User | None,
    next_due: dt.date | None = None,
    today: dt.date,
) -> Inspection:
    """An officer's inspection; the next one is due after the building's cycle unless given."""
    if on > today:
        raise InvalidInput(f"an inspection on {on} lies in the future")
    due = next_due or on + dt.timedelta(days=building.inspect_every_days)
    if due <= on:
        raise InvalidInput("the next inspection is due after this one")
    inspection = Inspection(
        building_id=building.id,
        inspected_on=on,
        findings=findings,
        photos=photos,
        next_due=due,
        by_user_id=user.id if user else None,
    )
    session.add(inspection)
    latest = session.scalar(
        select(func.max(Inspection.inspected_on)).where(Inspection.building_id == building.id)
    )
    if latest is None or on >= latest:
        building.next_due = due
    session.flush()
    return inspection


def link_case(session: Session, item: Case) -> CaseBuilding | None:
    """Link a case just reported to the building it was reported at, if any: the nearest
    within ``LINK_M`` of its point, or one whose footprint covers it."""
    if item.grid_id is None:
        return None
    dlat, dlon = degree_box(item.lat, LINK_M + FOOTPRINT_REACH_M)
    candidates = session.execute(
        select(Building.id, Building.lat, Building.lon, Building.footprint).where(
            Building.grid_id == item.grid_id,
            Building.lat.between(item.lat - dlat, item.lat + dlat),
            Building.lon.between(item.lon - dlon, item.lon + dlon),
        )
    ).all()
    best: tuple[float, int] | None = None
    point = shapely.Point(item.lon, item.lat)
    for building in candidates:
        inside = building.footprint is not None and building.footprint.covers(point)
        distance = (
            0.0 if inside else float(haversine_m(item.lat, item.lon, building.lat, building.lon))
        )
        if distance <= LINK_M and (best is None or distance < best[0]):
            best = (distance, building.id)
    if best is None:
        return None
    link = CaseBuilding(case_id=item.id, building_id=best[1], distance_m=round(best[0], 1))
    session.add(link)
    return link


def building_view(
    session: Session, building: Building, directory: Directory, *, today: dt.date
) -> dict[str, Any]:
    head = session.get(Volunteer, building.head_id) if building.head_id else None
    grid = directory.units.get(building.grid_id) if building.grid_id else None
    cases = session.scalars(
        select(CaseBuilding.case_id)
        .where(CaseBuilding.building_id == building.id)
        .order_by(CaseBuilding.case_id)
    ).all()
    return {
        "code": building.code,
        "name": building.name,
        "address": building.address,
        "units": building.units_count,
        "grid": grid.code if grid else None,
        "head": head.pseudonym if head else None,
        "head_code": head.code if head else None,
        "next_due": building.next_due.isoformat(),
        "overdue": building.next_due < today,
        "cases": list(cases),
    }


def buildings_geojson(
    session: Session, directory: Directory, scope: Scope, *, today: dt.date
) -> dict[str, Any]:
    """The map layer: buildings in scope, as footprints where known, else points."""
    features = []
    for building in session.scalars(select(Building).order_by(Building.code)):
        if not in_scope(scope, directory, building):
            continue
        geometry = shapely.geometry.mapping(building.footprint or building.geom)
        properties = building_view(session, building, directory, today=today)
        properties.pop("cases")
        features.append(
            {"type": "Feature", "id": building.code, "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


def grid_counts(
    session: Session, directory: Directory, scope: Scope, *, today: dt.date
) -> list[dict[str, Any]]:
    """Per grid in scope: how many buildings, how many with an overdue inspection."""
    rows = session.execute(
        select(
            Building.grid_id,
            func.count(),
            func.sum(case((Building.next_due < today, 1), else_=0)),
            func.sum(Building.units_count),
        )
        .where(Building.grid_id.is_not(None))
        .group_by(Building.grid_id)
    ).all()
    out = []
    for grid_id, count, overdue, units in rows:
        if not scope.covers_grid(directory, grid_id):
            continue
        grid = directory.units[grid_id]
        out.append(
            {
                "grid": grid.code,
                "name": grid.name,
                "buildings": int(count),
                "units": int(units or 0),
                "overdue": int(overdue or 0),
            }
        )
    return sorted(out, key=lambda r: (-r["overdue"], r["grid"]))


BUILDING_COLUMNS = ("code", "name", "address", "units", "lat", "lon", "head")


def import_buildings(session: Session, locator: GridLocator, text: str, *, today: dt.date) -> int:
    """Import a CSV of buildings (``BUILDING_COLUMNS``; ``head`` may be empty); all or
    nothing: the first bad row stops the import, naming its line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in BUILDING_COLUMNS[:-1] if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportRefused(f"the CSV has no columns {missing}; it needs {list(BUILDING_COLUMNS)}")
    count = 0
    for line, row in enumerate(reader, start=2):
        try:
            save_building(
                session,
                locator,
                code=row["code"].strip(),
                name=row["name"].strip(),
                address=row["address"].strip(),
                units_count=int(row["units"] or 0),
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                head=(row.get("head") or "").strip() or None,
                today=today,
            )
        except (ValueError, GridwatchError, GeoInputError) as exc:
            raise ImportRefused(f"line {line}: {exc}; nothing was imported") from exc
        count += 1
    return count
