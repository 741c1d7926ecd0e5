"""GET /api/v1/grids: the administrative units as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
import shapely.geometry
from fastapi import APIRouter, Query

from api.deps import SessionDep
from grids.city.queries import parse_bbox, units_in
from grids.errors import InvalidInput

router = APIRouter(tags=["units"])

MAX_FEATURES = 20_000


@router.get("/grids")
def grids(
    session: SessionDep,
    level: Annotated[str, Query(description="city, town, community or grid")] = "grid",
    bbox: Annotated[
        str | None,
        Query(
            description="min_lon,min_lat,max_lon,max_lat (WGS-84)",
            examples=["113.7,23.0,113.8,23.1"],
        ),
    ] = None,
    parent: Annotated[str | None, Query(description="Only the children of this unit code")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = MAX_FEATURES,
    precision: Annotated[int, Query(ge=3, le=9, description="Decimals of coordinates")] = 6,
) -> dict[str, Any]:
    """Units of one level as a GeoJSON FeatureCollection (coordinates lon, lat; WGS-84).

    Example: ``/api/v1/grids?level=town`` or ``/api/v1/grids?bbox=113.74,23.01,113.76,23.03``.
    """
    rows = units_in(
        session,
        level=level,
        bbox=parse_bbox(bbox) if bbox else None,
        parent_code=parent,
        limit=limit,
    )
    if len(rows) > limit:
        raise InvalidInput(
            f"more than {limit} units match; narrow the query with bbox= or parent= or raise limit="
        )
    features = [
        {
            "type": "Feature",
            "id": unit.code,
            "properties": {
                "code": unit.code,
                "name": unit.name,
                "name_en": unit.name_en,
                "level": unit.level,
                "parent": parent_code,
                "area_m2": round(unit.area_m2, 1) if unit.area_m2 is not None else None,
            },
            "geometry": _rounded(unit.geom, precision) if unit.geom is not None else None,
        }
        for unit, parent_code in rows
    ]
    return {"type": "FeatureCollection", "features": features}


def _rounded(geom: Any, decimals: int) -> dict[str, Any]:
    """GeoJSON geometry with coordinates rounded (6 decimals is about 0.1 m)."""
    return shapely.geometry.mapping(shapely.transform(geom, lambda xy: np.round(xy, decimals)))
