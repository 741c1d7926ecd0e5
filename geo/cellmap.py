"""The cell map: which polygon (grid) covers a point, exactly, for one point or millions.

How it works
------------
The map is built once from the polygons at one H3 resolution ``res``:

* *interior cells* lie wholly inside the interior of the polygon that wins
  every point in them; they are compacted (mixed resolutions) and kept as
  sorted uint64 arrays, one per resolution, looked up with ``searchsorted``
  on the parents of each point's cell (parents are bit operations);
* *boundary cells* touch a polygon boundary; they keep the short list of
  polygons that may cover their points, resolved by an exact test with
  prepared shapely geometries;
* in front of both, a regular raster of lon/lat rectangles marks the
  rectangles that lie wholly inside one polygon's interior (and touch no
  other): most interior points are answered with arithmetic alone, before
  any H3 cell is computed — rectangles are exact in lon/lat, so this needs
  no margin;
* a point in no listed cell is tested against all polygons through an
  STRtree, and if no polygon covers it, snapped to the nearest polygon
  within ``snap_meters`` (metres, measured in a local azimuthal equidistant
  projection), or else reported outside.

Semantics (the rule that makes the answer deterministic)
--------------------------------------------------------
The answer is that of shapely's ``covers`` on the planar lon/lat polygons:

1. a polygon whose *interior* contains the point beats one that only has it
   on its boundary;
2. among equals, the polygon that comes first in the input wins.

So a point on an edge shared by two grids goes to the grid listed first,
with match kind ``edge``; a point inside one grid is ``inside``. Both
rules only matter on boundaries and where polygons overlap.

Why interior cells are exact: a cell is taken as interior only if a copy of
its hexagon, scaled up about its centre to swallow any curvature of H3's
geodesic edges, lies in the interior of the winning polygon - either
because its centre is farther from every boundary than the cell's
circumradius (with a safety factor), or by an explicit shapely test.
Compacting uses H3's index hierarchy, and lookups go from a point's fine
cell to its parents by index, so the geometric inexactness of H3's parent
and child cells never matters.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyproj
import shapely
from h3.api import basic_int

from geo import h3cells
from geo.cellmap_build import CellTables, Raster, build_tables, choose_resolution, run_starts
from geo.crs import validate_coordinates
from geo.errors import GeometryError, summarise

MATCH_KINDS: tuple[str, ...] = ("inside", "edge", "snapped", "outside")
INSIDE, EDGE, SNAPPED, OUTSIDE = range(4)

FORMAT_VERSION = 2
_MIN_CHUNK = 50_000  # fewer points per thread are not worth a thread
_UNLISTED = np.iinfo(np.int64).min  # a cell the map does not list


@dataclass(frozen=True)
class Located:
    """Per point: the polygon index (-1 outside), the match kind and the snap distance.

    ``distance_m`` is 0 for ``inside`` and ``edge``, the distance to the
    polygon for ``snapped`` and NaN for ``outside``.
    """

    index: np.ndarray
    match: np.ndarray
    distance_m: np.ndarray

    def match_names(self) -> np.ndarray:
        """The match kinds as strings (``inside``, ``edge``, ``snapped``, ``outside``)."""
        return np.asarray(MATCH_KINDS, dtype=object)[self.match]


def polygons_hash(polygons: np.ndarray, ids: np.ndarray, res: int | None) -> str:
    """Fingerprint of the inputs a cell map was built from; a saved map is stale if it differs."""
    digest = hashlib.sha256()
    digest.update(f"cellmap-v{FORMAT_VERSION};res={res};n={len(polygons)};".encode())
    for ident, wkb in zip(ids.tolist(), shapely.to_wkb(polygons, output_dimension=2), strict=True):
        digest.update(str(ident).encode())
        digest.update(b"\0")
        digest.update(wkb)
    return digest.hexdigest()


def _check_polygons(polygons: Any, ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Polygons as a shapely array, refusing what the exact tests cannot use."""
    geoms = np.asarray(polygons, dtype=object)
    idents = np.asarray(ids)
    if geoms.ndim != 1 or len(geoms) == 0:
        raise GeometryError("no polygons given: the cell map needs at least one polygon")
    if len(idents) != len(geoms):
        raise GeometryError(f"{len(geoms)} polygons but {len(idents)} ids: give one id per polygon")
    if len(np.unique(idents)) != len(idents):
        raise GeometryError("polygon ids must be unique")
    problems: list[str] = []
    for i, geom in enumerate(geoms):
        if geom is None or not isinstance(geom, shapely.Geometry):
            problems.append(f"{idents[i]}: not a geometry")
        elif shapely.get_type_id(geom) not in (3, 6):
            kind = type(geom).__name__
            problems.append(f"{idents[i]}: {kind} is not a Polygon or MultiPolygon")
        elif shapely.is_empty(geom):
            problems.append(f"{idents[i]}: empty polygon")
        elif not shapely.is_valid(geom):
            problems.append(f"{idents[i]}: invalid polygon ({shapely.is_valid_reason(geom)})")
    if problems:
        raise GeometryError(
            f"{len(problems)} polygons cannot be used: {summarise(problems)}. "
            "Repair them (e.g. shapely.make_valid) or remove them."
        )
    return geoms, idents


class CellMap:
    """Answers "which polygon covers this point?" exactly; see the module docstring."""

    def __init__(
        self,
        polygons: np.ndarray,
        ids: np.ndarray,
        res: int,
        tables: CellTables,
        source_hash: str,
        snap_meters: float = 100.0,
    ) -> None:
        self.polygons = polygons
        self.ids = ids
        self.res = res
        self.tables = tables
        self.boundary_ptr = tables.boundary_ptr
        self.boundary_idx = tables.boundary_idx
        self.source_hash = source_hash
        self.snap_meters = float(snap_meters)
        self._wkb = shapely.to_wkb(polygons)
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._tree = shapely.STRtree(self.polygons)
        self._metric_lock = threading.Lock()
        self._metric_cache: tuple[pyproj.Transformer, shapely.STRtree, np.ndarray] | None = None
        self._starts, self._ends, self._values = _lookup_table(res, tables)
        # Python lists for the one-point path: bisect on a list beats numpy's call overhead.
        self._starts_list: list[int] = self._starts.tolist()
        self._ends_list: list[int] = self._ends.tolist()
        self._values_list: list[int] = self._values.tolist()

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        polygons: Any,
        ids: Any,
        *,
        res: int | None = None,
        snap_meters: float = 100.0,
    ) -> CellMap:
        """Build the map from WGS-84 (multi)polygons and one unique id per polygon.

        ``res`` overrides the automatic resolution (:func:`choose_resolution`).
        """
        geoms, idents = _check_polygons(polygons, ids)
        source_hash = polygons_hash(geoms, idents, res)
        chosen = choose_resolution(geoms) if res is None else int(res)
        if not 0 <= chosen <= 15:
            raise GeometryError(f"H3 resolution must be 0..15, got {chosen}")

        tables = build_tables(geoms, chosen)
        return cls(geoms, idents, chosen, tables, source_hash, snap_meters)

    # ----------------------------------------------------------------- locate
    def locate(self, lat: Any, lon: Any, *, threads: int | None = None) -> Located:
        """Locate points given in WGS-84 degrees (arrays of equal length).

        Large inputs are split over ``threads`` threads (default: one per
        CPU): H3, numpy and GEOS release the GIL, and each thread tests
        against its own prepared copy of the polygons.
        """
        lat_arr, lon_arr = validate_coordinates(lat, lon)
        n = len(lat_arr)
        workers = min(threads or os.cpu_count() or 1, max(1, n // _MIN_CHUNK))
        if workers <= 1:
            parts = [self._locate_listed(lat_arr, lon_arr)]
        else:
            bounds = np.linspace(0, n, workers + 1).astype(int)
            chunks = [slice(a, b) for a, b in itertools.pairwise(bounds)]
            parts = list(
                self._executor(workers).map(
                    lambda c: self._locate_listed(lat_arr[c], lon_arr[c]), chunks
                )
            )
        index = np.concatenate([p.index for p in parts])
        match = np.concatenate([p.match for p in parts])
        distance = np.concatenate([p.distance_m for p in parts])

        todo = np.flatnonzero(index < 0)
        if len(todo):
            pts = shapely.points(lon_arr[todo], lat_arr[todo])
            point_of_pair, cand = self._tree.query(pts)
            self._resolve(todo, point_of_pair, cand, lat_arr, lon_arr, index, match, distance)
            todo = np.flatnonzero(index < 0)
            if len(todo):
                self._snap(todo, lat_arr, lon_arr, index, match, distance)
        return Located(index, match, distance)

    def _locate_listed(self, lat: np.ndarray, lon: np.ndarray) -> Located:
        """Points whose cell the map lists (interior or boundary); the rest stay -1."""
        value = self._lookup(lat, lon)
        n = len(lat)
        index = np.full(n, -1, dtype=np.int64)
        match = np.full(n, OUTSIDE, dtype=np.uint8)
        distance = np.full(n, np.nan)
        inside = value >= 0
        index[inside] = value[inside]
        match[inside] = INSIDE
        distance[inside] = 0.0
        rows = np.flatnonzero(~inside & (value != _UNLISTED))
        if len(rows):
            slots = -value[rows] - 1
            counts = self.boundary_ptr[slots + 1] - self.boundary_ptr[slots]
            point_of_pair = np.repeat(np.arange(len(rows)), counts)
            starts = np.repeat(self.boundary_ptr[slots] - np.cumsum(counts) + counts, counts)
            cand = self.boundary_idx[starts + np.arange(counts.sum())]
            self._resolve(rows, point_of_pair, cand, lat, lon, index, match, distance)
        return Located(index, match, distance)

    def _executor(self, workers: int) -> ThreadPoolExecutor:
        """A pool kept with the map, so its threads' prepared polygons are made once."""
        with self._pool_lock:
            if self._pool is None or self._pool._max_workers < workers:
                self._pool = ThreadPoolExecutor(workers, thread_name_prefix="cellmap")
            return self._pool

    def _prepared(self) -> np.ndarray:
        """This thread's own prepared copy of the polygons.

        GEOS builds the index of a prepared geometry lazily and without a
        lock, so sharing one between threads can corrupt memory
        (libgeos/geos#825); a copy per thread is cheap.
        """
        polygons = getattr(self._local, "polygons", None)
        if polygons is None:
            polygons = shapely.from_wkb(self._wkb)
            shapely.prepare(polygons)
            self._local.polygons = polygons
        return polygons

    def _lookup(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Per point: its polygon (>= 0) if its raster rectangle or cell is interior,
        -(slot + 1) if its cell is a boundary cell, or ``_UNLISTED``.

        The raster answers most interior points with arithmetic; only the rest
        pay for an H3 cell and a search in the interval table.
        """
        value = self.tables.raster.lookup(lat, lon)
        rest = np.flatnonzero(value < 0)
        cells = h3cells.latlng_to_cells(lat[rest], lon[rest], self.res)
        # Searching in sorted order keeps the table's cache lines warm: faster
        # than random-order searches even after paying for the argsort.
        order = np.argsort(cells)
        pos = np.empty(len(cells), dtype=np.int64)
        pos[order] = np.searchsorted(self._starts, cells[order], side="right")
        pos -= 1
        listed = pos >= 0
        listed[listed] = cells[listed] <= self._ends[pos[listed]]
        value[rest] = np.where(listed, self._values[pos], _UNLISTED)
        return value

    def locate_one(self, lat: float, lon: float) -> tuple[int, str, float]:
        """One point, without numpy overhead: (polygon index or -1, match kind, distance_m)."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # also refuses NaN
            validate_coordinates([lat], [lon])
        cell = basic_int.latlng_to_cell(lat, lon, self.res)
        pos = bisect.bisect_right(self._starts_list, cell) - 1
        if pos >= 0 and cell <= self._ends_list[pos]:
            value = self._values_list[pos]
            if value >= 0:
                return value, "inside", 0.0
            slot = -value - 1
            point = shapely.Point(lon, lat)
            polygons = self._prepared()
            best = -1
            for j in self.boundary_idx[
                self.boundary_ptr[slot] : self.boundary_ptr[slot + 1]
            ].tolist():
                poly = polygons[j]
                if poly.contains_properly(point):
                    return j, "inside", 0.0
                if best < 0 and poly.covers(point):
                    best = j
            if best >= 0:
                return best, "edge", 0.0
        found_all = self.locate([lat], [lon])
        return (
            int(found_all.index[0]),
            MATCH_KINDS[int(found_all.match[0])],
            float(found_all.distance_m[0]),
        )

    def _resolve(
        self,
        rows: np.ndarray,
        point_of_pair: np.ndarray,
        cand: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        index: np.ndarray,
        match: np.ndarray,
        distance: np.ndarray,
    ) -> None:
        """Apply the covers rule to (point, candidate polygon) pairs; fill the winners.

        Interiors are tested first; only points in no candidate's interior
        (on an edge, or outside) are tested with ``covers``.
        """
        if len(cand) == 0:
            return
        polygons = self._prepared()
        pts = shapely.points(lon[rows], lat[rows])
        n_poly = len(polygons)
        interior = shapely.contains_properly(polygons[cand], pts[point_of_pair])
        best = np.full(len(rows), n_poly, dtype=np.int64)
        np.minimum.at(best, point_of_pair[interior], cand[interior])
        inner = best < n_poly
        index[rows[inner]] = best[inner]
        match[rows[inner]] = INSIDE
        distance[rows[inner]] = 0.0

        rest = ~inner[point_of_pair]
        point_of_pair, cand = point_of_pair[rest], cand[rest]
        on_edge = shapely.covers(polygons[cand], pts[point_of_pair])
        np.minimum.at(best, point_of_pair[on_edge], cand[on_edge])
        edge = ~inner & (best < n_poly)
        index[rows[edge]] = best[edge]
        match[rows[edge]] = EDGE
        distance[rows[edge]] = 0.0

    @property
    def _metric(self) -> tuple[pyproj.Transformer, shapely.STRtree, np.ndarray]:
        """Polygon edges as segments in a local azimuthal equidistant projection.

        Distances in metres to a polygon a point lies outside of are distances
        to its edges; a tree of short segments finds the nearest edge quickly
        however many vertices the polygons have.
        """
        with self._metric_lock:
            if self._metric_cache is None:
                self._metric_cache = self._build_metric()
            return self._metric_cache

    def _build_metric(self) -> tuple[pyproj.Transformer, shapely.STRtree, np.ndarray]:
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        proj = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={(miny + maxy) / 2} +lon_0={(minx + maxx) / 2} "
            "+datum=WGS84 +units=m"
        )
        forward = pyproj.Transformer.from_crs("EPSG:4326", proj, always_xy=True)
        parts, part_owner = shapely.get_parts(self.polygons, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        xy = np.column_stack([x, y])
        same_ring = coord_ring[1:] == coord_ring[:-1]
        starts = np.flatnonzero(same_ring)
        ends = np.stack([xy[starts], xy[starts + 1]], axis=1)
        segments = cast(np.ndarray, shapely.linestrings(ends))
        owner = part_owner[ring_part[coord_ring[starts]]]
        return forward, shapely.STRtree(segments), owner

    def _snap(
        self,
        rows: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        index: np.ndarray,
        match: np.ndarray,
        distance: np.ndarray,
    ) -> None:
        """Give points outside every polygon to the nearest one within ``snap_meters``."""
        if self.snap_meters <= 0:
            return
        forward, tree, owner = self._metric
        x, y = forward.transform(lon[rows], lat[rows])
        pts = shapely.points(x, y)
        (point_of_pair, seg), dist = tree.query_nearest(
            pts, max_distance=self.snap_meters, return_distance=True, all_matches=True
        )
        if len(seg) == 0:
            return
        cand = owner[seg]
        order = np.lexsort((cand, dist, point_of_pair))  # nearest, then first listed
        point_of_pair, cand, dist = point_of_pair[order], cand[order], dist[order]
        first = run_starts(point_of_pair)
        chosen = rows[point_of_pair[first]]
        index[chosen] = cand[first]
        match[chosen] = SNAPPED
        distance[chosen] = dist[first]

    def distance_to_nearest(self, lat: float, lon: float, within_m: float) -> float | None:
        """Metres from a point outside every polygon to the nearest polygon edge, if within
        ``within_m``; None when farther (used to refuse reports from outside the city)."""
        forward, tree, _owner = self._metric
        x, y = forward.transform(lon, lat)
        (_, _), dist = tree.query_nearest(
            shapely.points([x], [y]), max_distance=within_m, return_distance=True
        )
        return float(dist.min()) if len(dist) else None

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the cell arrays to ``path`` (.npz); polygons are given again on load."""
        tables = self.tables
        raster = tables.raster
        arrays: dict[str, np.ndarray] = {
            "boundary_cells": tables.boundary_cells,
            "boundary_ptr": tables.boundary_ptr,
            "boundary_idx": tables.boundary_idx,
            "raster_values": raster.values,
            "raster_frame": np.array([raster.x0, raster.y0, raster.dx, raster.dy]),
        }
        for r, (keys, vals) in tables.interior.items():
            arrays[f"interior_keys_{r}"] = keys
            arrays[f"interior_vals_{r}"] = vals
        meta = {"version": FORMAT_VERSION, "res": self.res, "source_hash": self.source_hash}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)

    @classmethod
    def load(
        cls,
        path: str | Path,
        polygons: Any,
        ids: Any,
        *,
        res: int | None = None,
        snap_meters: float = 100.0,
    ) -> CellMap | None:
        """A saved map if it was built from exactly these polygons, ids and ``res``, else None."""
        path = Path(path)
        if not path.exists():
            return None
        geoms, idents = _check_polygons(polygons, ids)
        expected = polygons_hash(geoms, idents, res)
        try:
            with np.load(path) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("version") != FORMAT_VERSION or meta.get("source_hash") != expected:
                    return None
                interior = {
                    int(k.rsplit("_", 1)[1]): (data[k], data[k.replace("keys", "vals")])
                    for k in data.files
                    if k.startswith("interior_keys_")
                }
                x0, y0, dx, dy = data["raster_frame"].tolist()
                tables = CellTables(
                    interior,
                    data["boundary_cells"],
                    data["boundary_ptr"],
                    data["boundary_idx"],
                    Raster(x0, y0, dx, dy, data["raster_values"]),
                )
                return cls(geoms, idents, int(meta["res"]), tables, expected, snap_meters)
        except (OSError, ValueError, KeyError):
            return None

    @classmethod
    def load_or_build(
        cls,
        path: str | Path,
        polygons: Any,
        ids: Any,
        *,
        res: int | None = None,
        snap_meters: float = 100.0,
    ) -> CellMap:
        """The saved map when it is current, else a fresh build that is saved for next time."""
        loaded = cls.load(path, polygons, ids, res=res, snap_meters=snap_meters)
        if loaded is not None:
            return loaded
        built = cls.build(polygons, ids, res=res, snap_meters=snap_meters)
        built.save(path)
        return built

    def stats(self) -> dict[str, int]:
        """Sizes for logs and the benchmark: resolution, interior and boundary cells."""
        return {
            "res": self.res,
            "polygons": len(self.polygons),
            "interior_cells": int(sum(len(k) for k, _ in self.tables.interior.values())),
            "boundary_cells": len(self.tables.boundary_cells),
            "boundary_pairs": len(self.boundary_idx),
            "raster_rectangles": int(self.tables.raster.values.size),
            "raster_interior": int((self.tables.raster.values >= 0).sum()),
        }


def _lookup_table(res: int, tables: CellTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sorted table of disjoint index intervals at ``res``: a compacted interior cell
    covers the interval of its descendants and maps to its polygon (>= 0); a boundary
    cell is an interval of one and maps to -(its slot + 1)."""
    starts, ends, values = [], [], []
    for keys, vals in tables.interior.values():
        lo, hi = h3cells.descendant_ranges(keys, res)
        starts.append(lo)
        ends.append(hi)
        values.append(vals.astype(np.int64))
    boundary = tables.boundary_cells
    starts.append(boundary)
    ends.append(boundary)
    values.append(-np.arange(1, len(boundary) + 1, dtype=np.int64))
    start = np.concatenate(starts).astype(np.uint64)
    end = np.concatenate(ends).astype(np.uint64)
    order = np.argsort(start, kind="stable")
    return start[order], end[order], np.concatenate(values)[order]
