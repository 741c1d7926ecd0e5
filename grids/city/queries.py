"""Reading units back: by level, parent and bounding box, on both backends."""

from __future__ import annotations

import shapely
from geoalchemy2 import functions as gfn
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from grids.city.models import LEVELS, Unit
from grids.errors import InvalidInput

BBox = tuple[float, float, float, float]


def parse_bbox(text: str) -> BBox:
    """``min_lon,min_lat,max_lon,max_lat`` in degrees, checked."""
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as exc:
        raise InvalidInput(
            f"bbox {text!r} must be four numbers: min_lon,min_lat,max_lon,max_lat"
        ) from exc
    if len(parts) != 4:
        raise InvalidInput(f"bbox {text!r} must be four numbers: min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(
            f"bbox {text!r} is not a box in degrees: need -180 <= min_lon <= max_lon <= 180 "
            "and -90 <= min_lat <= max_lat <= 90"
        )
    return min_lon, min_lat, max_lon, max_lat


def units_in(
    session: Session,
    *,
    level: str,
    bbox: BBox | None = None,
    parent_code: str | None = None,
    limit: int = 10_000,
) -> list[tuple[Unit, str | None]]:
    """Units of a level (with their parent's code), optionally touching a box or under a parent.

    On PostGIS the box test runs in the database on the GiST index; on
    SQLite the stored bounds narrow the rows and shapely decides exactly.
    """
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {list(LEVELS)}, got {level!r}")
    parent = aliased(Unit)
    query = (
        select(Unit, parent.code)
        .outerjoin(parent, Unit.parent_id == parent.id)
        .where(Unit.level == level)
        .order_by(Unit.code)
    )
    if parent_code is not None:
        query = query.where(parent.code == parent_code)
    postgis = session.get_bind().dialect.name == "postgresql"
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        if postgis:
            envelope = func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326)
            query = query.where(gfn.ST_Intersects(Unit.geom, envelope))
        else:
            query = query.where(
                Unit.max_lon >= min_lon,
                Unit.min_lon <= max_lon,
                Unit.max_lat >= min_lat,
                Unit.min_lat <= max_lat,
            )
    rows: list[tuple[Unit, str | None]] = [
        (unit, code) for unit, code in session.execute(query.limit(limit + 1))
    ]
    if bbox is not None and not postgis:
        box = shapely.box(*bbox)
        rows = [(u, c) for u, c in rows if u.geom is not None and shapely.intersects(u.geom, box)]
    return rows
