"""Chinese coordinate systems (WGS-84, GCJ-02, BD-09), vectorised over numpy arrays.

H3 and every geometric computation in ``geo`` work in WGS-84, but phones and web
maps in China report GCJ-02 (Amap, WeChat, Tencent) or BD-09 (Baidu). Inputs are
normalised to WGS-84 at the edge with the functions of this module.

Conventions, everywhere in this module: latitude first, ``(lat, lon)``, in
degrees. Every conversion accepts Python floats, sequences or numpy arrays and
returns float64 numpy arrays of the broadcast shape of its inputs (a scalar in
gives a 0-d array out).

GCJ-02 uses the published obfuscation formula (Krasovsky 1940 ellipsoid) and,
as that standard does, leaves points outside the usual China rectangle
unchanged. BD-09 is the published Baidu formula applied on top of GCJ-02; it is
applied everywhere (it has no "outside China" rule of its own). Both inverses
are refined iteratively so that a round trip is exact to ~1e-9 degrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import shapely

from geo.errors import CoordinateError, CRSError

__all__ = [
    "CRS_NAMES",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_crs",
    "to_wgs84",
    "transform_geometries",
    "validate_coordinates",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

FloatArray: TypeAlias = npt.NDArray[np.float64]
Coords: TypeAlias = "float | Sequence[float] | npt.ArrayLike"
LatLon: TypeAlias = tuple[FloatArray, FloatArray]

CRS_NAMES: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Keys are normalised with _normalise_name (lower case, no spaces, '-' or '_').
_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "wgs1984": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "baidu": "bd09",
}

# GCJ-02: Krasovsky 1940 ellipsoid, as in the published formula.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09.
_X_PI = np.pi * 3000.0 / 180.0
# The usual rectangle outside of which GCJ-02 leaves points unchanged.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

# Iterative inverses: stop when the forward transform of the estimate matches
# the input to this many degrees (~0.1 mm), or after this many rounds.
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

_MAX_LISTED_ROWS = 5


def _normalise_name(name: str) -> str:
    return "".join(name.split()).lower().replace("-", "").replace("_", "")


def parse_crs(name: str) -> str:
    """Return the canonical name ("wgs84", "gcj02" or "bd09") of a CRS name or alias.

    Users and files spell these systems many ways; one canonical spelling keeps
    every comparison downstream trivial.
    """
    if isinstance(name, str):
        canonical = _ALIASES.get(_normalise_name(name))
        if canonical is not None:
            return canonical
    raise CRSError(
        f"unknown coordinate system {name!r}; use one of: "
        "wgs84 (also 'WGS84', 'wgs-84', 'EPSG:4326', '4326', 'gps'), "
        "gcj02 (also 'gcj-02', 'mars', 'amap'), "
        "bd09 (also 'bd-09', 'bd09ll', 'baidu')"
    )


def _as_arrays(lat: Coords, lon: Coords) -> LatLon:
    """Coerce to float64 arrays of one broadcast shape (fresh, writable copies)."""
    lat_a = np.asarray(lat, dtype=np.float64)
    lon_a = np.asarray(lon, dtype=np.float64)
    if lat_a.shape != lon_a.shape:
        lat_a, lon_a = np.broadcast_arrays(lat_a, lon_a)
    return np.array(lat_a, dtype=np.float64), np.array(lon_a, dtype=np.float64)


def _out(lat: npt.ArrayLike, lon: npt.ArrayLike) -> LatLon:
    """Results as float64 arrays (numpy arithmetic on 0-d arrays gives scalars)."""
    return np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)


def out_of_china(lat: Coords, lon: Coords) -> npt.NDArray[np.bool_]:
    """True where GCJ-02 leaves a point unchanged (the standard's China rectangle)."""
    lat_a, lon_a = _as_arrays(lat, lon)
    return (
        (lon_a < _CHINA_LON[0])
        | (lon_a > _CHINA_LON[1])
        | (lat_a < _CHINA_LAT[0])
        | (lat_a > _CHINA_LAT[1])
    )


def _gcj02_delta(lat: FloatArray, lon: FloatArray) -> LatLon:
    """Offset (dlat, dlon) in degrees that GCJ-02 adds to a WGS-84 point."""
    x = lon - 105.0
    y = lat - 35.0
    x_pi = x * np.pi
    y_pi = y * np.pi
    common = (20.0 * np.sin(6.0 * x_pi) + 20.0 * np.sin(2.0 * x_pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y_pi) + 40.0 * np.sin(y_pi / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(y_pi / 12.0) + 320.0 * np.sin(y_pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x_pi) + 40.0 * np.sin(x_pi / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(x_pi / 12.0) + 300.0 * np.sin(x_pi / 30.0)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlat, dlon


def _refine_inverse(
    forward: Callable[[FloatArray, FloatArray], LatLon],
    target_lat: FloatArray,
    target_lon: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
) -> LatLon:
    """Fixed-point refinement of an inverse: x <- x - (forward(x) - target).

    Both forward transforms are the identity plus a small, slowly varying offset,
    so this contracts quickly (a handful of rounds). Vectorised; non-finite
    points are carried along and ignored by the stopping test.
    """
    for _ in range(_INVERSE_MAX_ITER):
        f_lat, f_lon = forward(lat, lon)
        err_lat = f_lat - target_lat
        err_lon = f_lon - target_lon
        lat = lat - err_lat
        lon = lon - err_lon
        worst = np.fmax(np.abs(err_lat), np.abs(err_lon))
        if not np.any(worst > _INVERSE_TOL_DEG):
            break
    return lat, lon


def wgs84_to_gcj02(lat: Coords, lon: Coords) -> LatLon:
    """WGS-84 -> GCJ-02 (what Amap/Tencent maps expect); identity outside China."""
    lat_a, lon_a = _as_arrays(lat, lon)
    with np.errstate(invalid="ignore"):
        dlat, dlon = _gcj02_delta(lat_a, lon_a)
        outside = out_of_china(lat_a, lon_a)
    return _out(np.where(outside, lat_a, lat_a + dlat), np.where(outside, lon_a, lon_a + dlon))


def _gcj02_forward_unmasked(lat: FloatArray, lon: FloatArray) -> LatLon:
    dlat, dlon = _gcj02_delta(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: Coords, lon: Coords) -> LatLon:
    """GCJ-02 -> WGS-84, exact to ~1e-9 degrees (iterative inverse of the formula).

    The one-step inverse found in most libraries is off by metres, enough to put
    a report into the neighbouring grid; this refines it until the forward
    transform of the result reproduces the input. Points outside China (tested
    on the GCJ-02 input, as the standard does) are returned unchanged.
    """
    lat_a, lon_a = _as_arrays(lat, lon)
    out_lat = lat_a.copy()
    out_lon = lon_a.copy()
    with np.errstate(invalid="ignore"):
        inside = ~out_of_china(lat_a, lon_a) & np.isfinite(lat_a) & np.isfinite(lon_a)
    if np.any(inside):
        g_lat = lat_a[inside]
        g_lon = lon_a[inside]
        dlat, dlon = _gcj02_delta(g_lat, g_lon)
        w_lat, w_lon = _refine_inverse(
            _gcj02_forward_unmasked, g_lat, g_lon, g_lat - dlat, g_lon - dlon
        )
        out_lat[inside] = w_lat
        out_lon[inside] = w_lon
    return out_lat, out_lon


def _bd09_forward(lat: FloatArray, lon: FloatArray) -> LatLon:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.sin(theta) + 0.006, z * np.cos(theta) + 0.0065


def gcj02_to_bd09(lat: Coords, lon: Coords) -> LatLon:
    """GCJ-02 -> BD-09 (what Baidu maps expect), the published Baidu formula."""
    lat_a, lon_a = _as_arrays(lat, lon)
    return _out(*_bd09_forward(lat_a, lon_a))


def bd09_to_gcj02(lat: Coords, lon: Coords) -> LatLon:
    """BD-09 -> GCJ-02: the published inverse, refined to ~1e-9 degrees.

    The published closed-form inverse is only approximate (up to about a metre);
    refining it makes BD-09 round trips exact.
    """
    lat_a, lon_a = _as_arrays(lat, lon)
    x = lon_a - 0.0065
    y = lat_a - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    start_lat = z * np.sin(theta)
    start_lon = z * np.cos(theta)
    with np.errstate(invalid="ignore"):
        return _out(*_refine_inverse(_bd09_forward, lat_a, lon_a, start_lat, start_lon))


def wgs84_to_bd09(lat: Coords, lon: Coords) -> LatLon:
    """WGS-84 -> BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: Coords, lon: Coords) -> LatLon:
    """BD-09 -> WGS-84 (via GCJ-02), exact to ~1e-9 degrees."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def _identity(lat: Coords, lon: Coords) -> LatLon:
    return _as_arrays(lat, lon)


_CONVERSIONS: dict[tuple[str, str], Callable[[Coords, Coords], LatLon]] = {
    ("wgs84", "wgs84"): _identity,
    ("gcj02", "gcj02"): _identity,
    ("bd09", "bd09"): _identity,
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def convert(lat: Coords, lon: Coords, src: str, dst: str) -> LatLon:
    """Convert points between any two supported systems (names as for parse_crs)."""
    return _CONVERSIONS[(parse_crs(src), parse_crs(dst))](lat, lon)


def to_wgs84(lat: Coords, lon: Coords, crs: str) -> LatLon:
    """Normalise points given in ``crs`` to WGS-84, the system H3 and ``geo`` use."""
    return convert(lat, lon, crs, "wgs84")


def from_wgs84(lat: Coords, lon: Coords, crs: str) -> LatLon:
    """Express WGS-84 points in ``crs``, e.g. to draw them on an Amap or Baidu base map."""
    return convert(lat, lon, "wgs84", crs)


def transform_geometries(geoms: Any, src: str, dst: str) -> npt.NDArray[np.object_]:
    """Convert shapely 2 geometries between systems, vertex by vertex (vectorised).

    Boundary files come in any of the three systems; grid polygons must be in
    WGS-84 before they meet H3. Shapely coordinates are (x=lon, y=lat); Z values,
    if any, are kept as they are. Returns a new object array of geometries of
    the input's shape; missing geometries (None) stay None.
    """
    src_c = parse_crs(src)
    dst_c = parse_crs(dst)
    arr: npt.NDArray[np.object_] = np.asarray(geoms, dtype=np.object_)
    if src_c == dst_c:
        return arr.copy()
    conversion = _CONVERSIONS[(src_c, dst_c)]

    def _coords(xy: FloatArray) -> FloatArray:
        out = xy.copy()
        lat, lon = conversion(xy[:, 1], xy[:, 0])
        out[:, 0] = lon
        out[:, 1] = lat
        return out

    result: npt.NDArray[np.object_] = np.asarray(
        shapely.transform(arr, _coords, include_z=True), dtype=np.object_
    )
    return result


def _format_value(value: float) -> str:
    return repr(float(value))


def validate_coordinates(
    lat: Coords,
    lon: Coords,
    *,
    row_labels: Sequence[Any] | npt.ArrayLike | None = None,
) -> LatLon:
    """Check that every point is a finite, in-range (lat, lon); return float64 arrays.

    One bad row would otherwise surface much later as a NaN H3 cell or a point
    "outside every grid"; the error names the rows (by ``row_labels`` if given,
    else the 0-based index; at most the first 5, plus the total count) and says
    what is wrong with each, so the user can fix the input.
    """
    try:
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CoordinateError(
            f"coordinates must be numbers: {exc}. Fix or remove the non-numeric values."
        ) from exc
    if lat_a.shape != lon_a.shape:
        raise CoordinateError(
            f"latitude and longitude have different shapes {lat_a.shape} and {lon_a.shape}; "
            "pass one latitude per longitude."
        )
    flat_lat = lat_a.ravel()
    flat_lon = lon_a.ravel()
    labels: npt.NDArray[Any] | None = None
    if row_labels is not None:
        labels = np.asarray(row_labels, dtype=object).ravel()
        if labels.shape != flat_lat.shape:
            raise CoordinateError(
                f"row_labels has {labels.size} labels for {flat_lat.size} points; "
                "pass one label per point."
            )

    with np.errstate(invalid="ignore"):
        lat_bad = ~np.isfinite(flat_lat) | (np.abs(flat_lat) > 90.0)
        lon_bad = ~np.isfinite(flat_lon) | (np.abs(flat_lon) > 180.0)
    bad = np.flatnonzero(lat_bad | lon_bad)
    if bad.size == 0:
        return lat_a, lon_a

    def _problem(name: str, value: float, limit: int) -> str:
        if np.isnan(value):
            return f"{name} is missing (NaN)"
        if np.isinf(value):
            return f"{name} is infinite ({_format_value(value)})"
        return f"{name} {_format_value(value)} is outside [-{limit}, {limit}]"

    parts: list[str] = []
    # Only the first few rows are described, so this loop is bounded.
    for i in bad[:_MAX_LISTED_ROWS]:
        label = labels[i] if labels is not None else int(i)
        problems: list[str] = []
        if lat_bad[i]:
            problems.append(_problem("latitude", flat_lat[i], 90))
        if lon_bad[i]:
            problems.append(_problem("longitude", flat_lon[i], 180))
        parts.append(f"row {label}: {', '.join(problems)}")
    if bad.size > _MAX_LISTED_ROWS:
        parts.append(f"... and {bad.size - _MAX_LISTED_ROWS} more")
    count = f"{bad.size} rows have" if bad.size > 1 else "1 row has"
    raise CoordinateError(
        f"{count} invalid coordinates: {'; '.join(parts)}. Fix or remove these rows."
    )
