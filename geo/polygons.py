"""Polygon files and their checks: read, normalise to WGS-84, repair, measure, compare.

Used by the grid importer (overlaps, gaps and children outside their parent
go into its validation report) and by ``gridwatch route --grids FILE``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import shapely

from geo.crs import parse_crs, transform_geometries
from geo.errors import CRSError, GeoInputError, GeometryError, summarise

_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class Repair:
    """A geometry that was invalid and what ``make_valid`` did to it."""

    row: int
    reason: str
    area_before_m2: float
    area_after_m2: float


def read_polygon_file(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str = "wgs84",
    source_epsg: int | None = None,
    id_field: str | None = None,
    features: str = "polygons",
) -> gpd.GeoDataFrame:
    """A polygon file of any format GDAL reads, as a GeoDataFrame in WGS-84 (EPSG:4326).

    A projected file is reprojected from the CRS it declares (or
    ``source_epsg`` when it declares none); ``crs`` then says which Chinese
    datum its geographic coordinates are in (``gcj02`` and ``bd09`` are
    shifted back to WGS-84). A table without geometries (a CSV of points) is
    refused, saying which ``features`` the caller wanted, and so are features
    whose geometry cannot be built (a ring that is not closed), each named by
    its row and, with ``id_field``, its id.
    """
    path = Path(path)
    if not path.exists():
        raise GeoInputError(f"{path}: no such file")
    datum = parse_crs(crs)
    try:
        with warnings.catch_warnings():  # GDAL's hint about unclosed rings: named below
            warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
            frame = gpd.read_file(path, layer=layer, on_invalid="ignore")
    except Exception as exc:  # pyogrio raises its own DataSourceError/DataLayerError
        raise GeoInputError(f"{path}: cannot read as a vector file ({exc})") from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        columns = ", ".join(map(str, frame.columns))
        hint = "; points are not polygons" if features == "polygons" else ""
        raise GeometryError(
            f"{path}: a table without geometries (columns {columns}){hint}: give the "
            f"{features} as a GeoJSON, GeoPackage, Shapefile or KML file"
        )
    if len(frame) == 0:
        raise GeoInputError(f"{path}: the file has no features")
    if frame.geometry.isna().any():
        _refuse_unbuildable(path, layer, frame, id_field)
    if source_epsg is not None:
        frame = frame.set_crs(epsg=source_epsg, allow_override=True)
    if frame.crs is None:
        frame = frame.set_crs(epsg=4326)
    elif not frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        if frame.crs.is_geographic and datum != "wgs84":
            frame = frame.set_crs(epsg=4326, allow_override=True)
        else:
            try:
                frame = frame.to_crs(epsg=4326)
            except Exception as exc:
                raise CRSError(f"{path}: cannot reproject from {frame.crs} ({exc})") from exc
    bounds = frame.total_bounds
    if not (-180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90):
        raise CRSError(
            f"{path}: coordinates {bounds.round(1).tolist()} are not longitudes and latitudes; "
            "the file is probably projected but does not say so: give its EPSG code "
            "(--source-epsg)"
        )
    if datum != "wgs84":
        frame = frame.set_geometry(transform_geometries(frame.geometry.values, datum, "wgs84"))
        frame = frame.set_crs(epsg=4326, allow_override=True)
    return frame


def _refuse_unbuildable(
    path: Path, layer: str | None, frame: gpd.GeoDataFrame, id_field: str | None
) -> None:
    """Name the features whose geometry GEOS cannot build (``on_invalid="ignore"`` made them
    None): an unclosed ring, a ring of fewer than four points. Features without any
    geometry in the file are left to the caller."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
        raw = pyogrio.raw.read(path, layer=layer, read_geometry=True)[2]
    problems = []
    for row, blob in enumerate(raw, start=1):
        if blob is None:
            continue
        try:
            shapely.from_wkb(blob)
        except shapely.errors.GEOSException as exc:
            reason = str(exc).split(": ", 1)[-1]
            name = f" ({id_field} {frame[id_field].iloc[row - 1]!r})" if id_field in frame else ""
            problems.append(f"feature {row}{name}: {reason}")
    if problems:
        raise GeometryError(
            f"{path}: {len(problems)} feature(s) have a geometry that is not valid: "
            f"{summarise(problems)}. Close every ring (its last point repeats its first) "
            "and give each ring at least four points"
        )


def normalise_polygons(geoms: Any, labels: Any = None) -> tuple[np.ndarray, list[Repair]]:
    """MultiPolygons from (multi)polygons, invalid ones repaired with ``make_valid``.

    Points, lines and empty or missing geometries are refused with the rows
    named, because a grid without an area cannot route anything.
    """
    arr = np.asarray(geoms, dtype=object)
    names = np.arange(1, len(arr) + 1) if labels is None else np.asarray(labels)
    problems = []
    for i, geom in enumerate(arr):
        if geom is None or shapely.is_missing(geom):
            problems.append(f"{names[i]}: no geometry")
        elif shapely.is_empty(geom):
            problems.append(f"{names[i]}: empty geometry")
        elif shapely.get_type_id(geom) not in (3, 6):
            problems.append(f"{names[i]}: {type(geom).__name__} is not a polygon")
    if problems:
        raise GeometryError(
            f"{len(problems)} features cannot be used as grids: {summarise(problems)}. "
            "Every feature must be a Polygon or MultiPolygon with an area."
        )
    arr = shapely.force_2d(arr)
    repairs: list[Repair] = []
    invalid = np.flatnonzero(~shapely.is_valid(arr))
    for i in invalid.tolist():
        before = arr[i]
        fixed = shapely.make_valid(before)
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_type_id(p) in (3, 6)]
        polygonal = shapely.union_all(parts) if parts else shapely.Polygon()
        if shapely.is_empty(polygonal):
            raise GeometryError(
                f"{names[i]}: invalid polygon ({shapely.is_valid_reason(before)}) "
                "that has no area once repaired; fix or remove it"
            )
        repairs.append(
            Repair(
                row=int(i),
                reason=str(shapely.is_valid_reason(before)),
                area_before_m2=geodesic_area(shapely.buffer(before, 0)),
                area_after_m2=geodesic_area(polygonal),
            )
        )
        arr[i] = polygonal
    multi = np.asarray(
        [g if shapely.get_type_id(g) == 6 else shapely.MultiPolygon([g]) for g in arr],
        dtype=object,
    )
    return multi, repairs


def geodesic_area(geom: Any) -> float:
    """Area in square metres on the WGS-84 ellipsoid."""
    if geom is None or shapely.is_empty(geom):
        return 0.0
    return abs(float(_GEOD.geometry_area_perimeter(geom)[0]))


def sibling_overlaps(geoms: np.ndarray, tolerance_m2: float) -> list[tuple[int, int, float]]:
    """Pairs (i, j, area m²) of polygons that overlap by more than ``tolerance_m2``."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    found = []
    for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
        area = geodesic_area(shapely.intersection(geoms[i], geoms[j]))
        if area > tolerance_m2:
            found.append((i, j, area))
    return found


def uncovered_parts(
    parent: Any, children: np.ndarray, tolerance_m2: float
) -> list[tuple[float, float, float]]:
    """Gaps: parts of ``parent`` no child covers, as (area m², lat, lon of a point inside)."""
    if parent is None or len(children) == 0:
        return []
    rest = shapely.difference(parent, shapely.union_all(children))
    return _parts_over(rest, tolerance_m2)


def outside_part(child: Any, parent: Any, tolerance_m2: float) -> float:
    """Area in m² of ``child`` that sticks out of ``parent`` (0 when under the tolerance)."""
    if parent is None:
        return 0.0
    area = geodesic_area(shapely.difference(child, parent))
    return area if area > tolerance_m2 else 0.0


def _parts_over(geom: Any, tolerance_m2: float) -> list[tuple[float, float, float]]:
    parts = []
    for part in shapely.get_parts(geom):
        if shapely.get_type_id(part) != 3:
            continue
        area = geodesic_area(part)
        if area > tolerance_m2:
            point = shapely.point_on_surface(part)
            parts.append((area, float(shapely.get_y(point)), float(shapely.get_x(point))))
    return sorted(parts, reverse=True)
