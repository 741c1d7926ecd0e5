"""GET /api/v1/locate: which grid covers a point, who is on duty there, which department."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import LocatorDep
from api.params import Instant
from api.schemas import LocateResponse
from geo.crs import parse_crs, to_wgs84
from geo.errors import CoordinateError

router = APIRouter(tags=["routing"])


def check_point(lat: float, lon: float) -> None:
    """Refuse NaN, infinities and out-of-range values with a message that says which."""
    problems = []
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        problems.append(f"lat must be a number in [-90, 90], got {lat}")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        problems.append(f"lon must be a number in [-180, 180], got {lon}")
    if problems:
        raise CoordinateError("; ".join(problems))


@router.get("/locate", response_model=LocateResponse)
def locate(
    locator: LocatorDep,
    lat: Annotated[float, Query(description="Latitude in degrees", examples=[23.02])],
    lon: Annotated[float, Query(description="Longitude in degrees", examples=[113.75])],
    crs: Annotated[
        str, Query(description="Datum of lat/lon: wgs84 (GPS), gcj02 (WeChat, Amap), bd09 (Baidu)")
    ] = "wgs84",
    category: Annotated[
        str | None, Query(description="A category code: also names the handling department")
    ] = None,
    at: Annotated[
        Instant | None,
        Query(description="When (ISO 8601; without offset: local time). Default: now"),
    ] = None,
) -> dict[str, object]:
    """Locate a point in the grids and route it by the dispatch rules.

    Example: ``/api/v1/locate?lat=23.02&lon=113.75&category=garbage_piled``.
    """
    check_point(lat, lon)
    datum = parse_crs(crs)
    decision = locator.route(lat, lon, crs=datum, at=at, category=category)
    lat_w, lon_w = to_wgs84(lat, lon, datum)
    return {
        **decision.to_dict(),
        "lat": float(lat_w),
        "lon": float(lon_w),
        "at": locator.local_time(at).isoformat(timespec="seconds"),
    }
