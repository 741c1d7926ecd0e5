"""Travel between patrol stops: great-circle distance, times at a speed with a detour factor.

Pure numpy; every function broadcasts, so one call gives a whole matrix.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geo.distance import EARTH_RADIUS_M, haversine_m
from geo.errors import GeoInputError

__all__ = [
    "EARTH_RADIUS_M",
    "FloatArray",
    "IntArray",
    "check_speed",
    "haversine_m",
    "travel_matrix",
    "travel_seconds",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def travel_seconds(
    lat1: npt.ArrayLike,
    lon1: npt.ArrayLike,
    lat2: npt.ArrayLike,
    lon2: npt.ArrayLike,
    *,
    speed_kmh: float,
    detour: float,
) -> IntArray:
    """Whole seconds to go between points: ``ceil(haversine_m × detour / (speed_kmh / 3.6))``.

    Rounded up so that a plan is never tighter than the formula says; the
    arguments broadcast (``lat[:, None]`` against ``lat[None, :]`` gives a matrix).
    """
    check_speed(speed_kmh, detour)
    metres = haversine_m(lat1, lon1, lat2, lon2)
    return np.ceil(metres * detour / (speed_kmh / 3.6)).astype(np.int64)


def travel_matrix(
    lat: npt.ArrayLike, lon: npt.ArrayLike, *, speed_kmh: float, detour: float
) -> IntArray:
    """Travel seconds between every pair of points (square, symmetric, zero diagonal)."""
    la = np.asarray(lat, dtype=np.float64).ravel()
    lo = np.asarray(lon, dtype=np.float64).ravel()
    return travel_seconds(
        la[:, None], lo[:, None], la[None, :], lo[None, :], speed_kmh=speed_kmh, detour=detour
    )


def check_speed(speed_kmh: float, detour: float) -> None:
    """Raise :class:`~geo.errors.GeoInputError`, saying what to fix, unless both make sense."""
    if not (isinstance(speed_kmh, int | float) and math.isfinite(speed_kmh) and speed_kmh > 0):
        raise GeoInputError(
            f"speed_kmh must be a positive number of km/h, got {speed_kmh!r}; "
            "use e.g. 5 on foot or 15 by bicycle."
        )
    if not (isinstance(detour, int | float) and math.isfinite(detour) and detour >= 1.0):
        raise GeoInputError(
            f"detour must be a number ≥ 1 (street distance over straight-line distance), "
            f"got {detour!r}; 1.3 is typical in a city."
        )
