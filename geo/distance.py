"""Great-circle distance, the one used everywhere (duplicates, visits, patrol travel)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the sphere of the haversine distance."""


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres on a sphere of radius :data:`EARTH_RADIUS_M`.

    Arguments broadcast like numpy arrays, so one call gives a whole matrix.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    a = np.clip(a, 0.0, 1.0)
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)), dtype=np.float64)


def degree_box(lat: float, radius_m: float) -> tuple[float, float]:
    """Half the sides, in degrees of latitude and longitude, of a box that holds every point
    within ``radius_m`` of a point at latitude ``lat``: a cheap prefilter for an index on
    latitude and longitude before the exact :func:`haversine_m`."""
    dlat = radius_m / 110_574.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return dlat, dlon
