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
from geo.crs import validate_coordinates
from geo.errors import GeometryError

MATCH_KINDS: tuple[str, ...] = ("inside", "edge", "snapped", "outside")
INSIDE, EDGE, SNAPPED, OUTSIDE = range(4)

FORMAT_VERSION = 1
_CELL_SCALE = 1.001  # hexagons are grown by 0.1 % before exact tests
_RADIUS_SAFETY = 1.25  # factor on the local circumradius for "surely interior"
_MIN_RES, _MAX_RES = 4, 11
_EDGES_PER_SIDE = 30  # a typical polygon is about this many cell edges across
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
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise GeometryError(
            f"{len(problems)} polygons cannot be used: {shown}{more}. "
            "Repair them (e.g. shapely.make_valid) or remove them."
        )
    return geoms, idents


def choose_resolution(polygons: np.ndarray) -> int:
    """The H3 resolution at which a typical polygon is ~30 cell edges across.

    Finer means fewer points need an exact test but more cells to build and
    store; this keeps the boundary band to a small share of each polygon.
    """
    geod = pyproj.Geod(ellps="WGS84")
    sample = polygons[:: max(1, len(polygons) // 500)]
    areas = np.abs([geod.geometry_area_perimeter(g)[0] for g in sample])
    side = float(np.sqrt(np.median(areas)))
    for res in range(_MIN_RES, _MAX_RES + 1):
        if h3cells.average_edge_length_m(res) <= side / _EDGES_PER_SIDE:
            return res
    return _MAX_RES


def _run_starts(values: np.ndarray) -> np.ndarray:
    """True where a sorted array starts a run of equal values."""
    starts = np.ones(len(values), dtype=bool)
    starts[1:] = values[1:] != values[:-1]
    return starts


def _sorted_pairs(cells: list[np.ndarray], owners: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate per-polygon cell arrays into (cell, polygon) pairs sorted by cell."""
    if not cells:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    cell_arr = np.concatenate(cells)
    owner_arr = np.repeat(np.asarray(owners, dtype=np.int64), [len(c) for c in cells])
    order = np.lexsort((owner_arr, cell_arr))
    return cell_arr[order], owner_arr[order]


class CellMap:
    """Answers "which polygon covers this point?" exactly; see the module docstring."""

    def __init__(
        self,
        polygons: np.ndarray,
        ids: np.ndarray,
        res: int,
        interior: dict[int, tuple[np.ndarray, np.ndarray]],
        boundary_cells: np.ndarray,
        boundary_ptr: np.ndarray,
        boundary_idx: np.ndarray,
        source_hash: str,
        snap_meters: float = 100.0,
    ) -> None:
        self.polygons = polygons
        self.ids = ids
        self.res = res
        self.interior = interior
        self.boundary_cells = boundary_cells
        self.boundary_ptr = boundary_ptr
        self.boundary_idx = boundary_idx
        self.source_hash = source_hash
        self.snap_meters = float(snap_meters)
        self._wkb = shapely.to_wkb(polygons)
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._tree = shapely.STRtree(self.polygons)
        self._metric_lock = threading.Lock()
        self._metric_cache: tuple[pyproj.Transformer, shapely.STRtree, np.ndarray] | None = None
        self._starts, self._ends, self._values = _lookup_table(res, interior, boundary_cells)
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

        inner_cells, inner_owner, band_cells, band_owner = [], [], [], []
        for i, geom in enumerate(geoms):
            band, inside = _band_and_inside_cells(geom, chosen)
            inner_cells.append(np.setdiff1d(inside, band, assume_unique=True))
            inner_owner.append(i)
            band_cells.append(band)
            band_owner.append(i)
        deep_cell, deep_owner = _sorted_pairs(inner_cells, inner_owner)
        band_cell, band_own = _sorted_pairs(band_cells, band_owner)
        in_band = np.isin(deep_cell, band_cell)

        # Cells in no band: every polygon listing them holds them in its interior.
        clear_cell, clear_owner = deep_cell[~in_band], deep_owner[~in_band]
        first = _run_starts(clear_cell)  # pairs are sorted: lowest owner first
        interior_cell, interior_owner = clear_cell[first], clear_owner[first]

        # Cells in some band: decide exactly with shapely.
        pair_cell = np.concatenate([band_cell, deep_cell[in_band]])
        pair_owner = np.concatenate([band_own, deep_owner[in_band]])
        pair_deep = np.r_[np.zeros(len(band_cell), bool), np.ones(in_band.sum(), bool)]
        prepared = shapely.from_wkb(shapely.to_wkb(geoms))  # a copy: the caller's stay unprepared
        shapely.prepare(prepared)
        extra_cell, extra_owner, b_cells, b_ptr, b_idx = _decide_band(
            prepared, pair_cell, pair_owner, pair_deep
        )
        interior_cell = np.concatenate([interior_cell, extra_cell])
        interior_owner = np.concatenate([interior_owner, extra_owner])
        interior = _compact(interior_cell, interior_owner)
        return cls(geoms, idents, chosen, interior, b_cells, b_ptr, b_idx, source_hash, snap_meters)

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
        """Per point: its polygon (>= 0) if its cell is interior, -(slot + 1) if the cell is
        a boundary cell, or ``_UNLISTED``."""
        cells = h3cells.latlng_to_cells(lat, lon, self.res)
        pos = np.searchsorted(self._starts, cells, side="right") - 1
        listed = pos >= 0
        listed[listed] = cells[listed] <= self._ends[pos[listed]]
        return np.where(listed, self._values[pos], _UNLISTED)

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
        first = _run_starts(point_of_pair)
        chosen = rows[point_of_pair[first]]
        index[chosen] = cand[first]
        match[chosen] = SNAPPED
        distance[chosen] = dist[first]

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the cell arrays to ``path`` (.npz); polygons are given again on load."""
        arrays: dict[str, np.ndarray] = {
            "boundary_cells": self.boundary_cells,
            "boundary_ptr": self.boundary_ptr,
            "boundary_idx": self.boundary_idx,
        }
        for r, (keys, vals) in self.interior.items():
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
                return cls(
                    geoms,
                    idents,
                    int(meta["res"]),
                    interior,
                    data["boundary_cells"],
                    data["boundary_ptr"],
                    data["boundary_idx"],
                    expected,
                    snap_meters,
                )
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
            "interior_cells": int(sum(len(k) for k, _ in self.interior.values())),
            "boundary_cells": len(self.boundary_cells),
            "boundary_pairs": len(self.boundary_idx),
        }


def _band_and_inside_cells(geom: Any, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells that may touch the polygon's boundary, and cells whose centre is inside it.

    The band is the k-ring of the cells of boundary samples spaced a quarter
    of a circumradius apart, with k large enough that every cell whose
    hexagon touches the boundary is in it (measured in the plain degrees the
    exact tests use, so also where longitude degrees are short). Outside the
    band a simplified outline (moved by at most an eighth of a circumradius)
    decides inside and outside exactly as the original would.
    """
    radius, spacing = _local_cell_size(geom, res)
    step = radius / 4
    samples = shapely.get_coordinates(shapely.segmentize(geom.boundary, step))
    seeds = np.unique(h3cells.latlng_to_cells(samples[:, 1], samples[:, 0], res))
    reach = _RADIUS_SAFETY * (2 * radius + step / 2)
    k = max(1, int(np.ceil(reach / (spacing * np.sqrt(3) / 2))))
    band = h3cells.grid_disks(seeds, k)
    outline = shapely.simplify(geom, radius / 8, preserve_topology=True)
    return band, h3cells.cells_of_geometry(outline, res)


def _local_cell_size(geom: Any, res: int) -> tuple[float, float]:
    """Near a polygon, in plain degrees: the largest cell circumradius and the
    smallest distance between neighbouring cell centres (at its centre and bbox corners)."""
    minx, miny, maxx, maxy = geom.bounds
    point = geom.representative_point()
    probes = [(point.y, point.x), (miny, minx), (miny, maxx), (maxy, minx), (maxy, maxx)]
    sizes = [h3cells.cell_size_degrees(lat, lon, res) for lat, lon in probes]
    return max(r for r, _ in sizes), min(d for _, d in sizes)


def _lookup_table(
    res: int, interior: dict[int, tuple[np.ndarray, np.ndarray]], boundary_cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One sorted table of disjoint index intervals at ``res``: a compacted interior cell
    covers the interval of its descendants and maps to its polygon (>= 0); a boundary
    cell is an interval of one and maps to -(its slot + 1)."""
    starts, ends, values = [], [], []
    for keys, vals in interior.values():
        lo, hi = h3cells.descendant_ranges(keys, res)
        starts.append(lo)
        ends.append(hi)
        values.append(vals.astype(np.int64))
    starts.append(boundary_cells)
    ends.append(boundary_cells)
    values.append(-np.arange(1, len(boundary_cells) + 1, dtype=np.int64))
    start = np.concatenate(starts).astype(np.uint64)
    end = np.concatenate(ends).astype(np.uint64)
    order = np.argsort(start, kind="stable")
    return start[order], end[order], np.concatenate(values)[order]


def _decide_band(
    geoms: np.ndarray, cells: np.ndarray, owners: np.ndarray, deep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact verdict on cells near a boundary.

    Returns extra interior cells with their owners, and the boundary cells as
    CSR arrays (cells, pointers, candidate polygon indices).
    """
    order = np.lexsort((owners, cells))
    cells, owners, deep = cells[order], owners[order], deep[order]
    keep = _run_starts(cells) | _run_starts(owners)
    cells, owners, deep = cells[keep], owners[keep], deep[keep]
    unique_cells, pair_slot = np.unique(cells, return_inverse=True)
    hexes = h3cells.cells_to_polygons(unique_cells, scale=_CELL_SCALE)
    bounds = shapely.bounds(hexes)
    # cells across the antimeridian have no planar hexagon: leave them to the slow path
    sane = ((bounds[:, 2] - bounds[:, 0]) < 90) & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
    pair_hex = hexes[pair_slot]

    test = ~deep & sane[pair_slot]
    touches = deep.copy()
    touches[test] = shapely.intersects(geoms[owners[test]], pair_hex[test])
    holds = deep.copy()
    check = test & touches
    holds[check] = shapely.contains_properly(geoms[owners[check]], pair_hex[check])
    touches &= sane[pair_slot]
    holds &= sane[pair_slot]

    n_cells = len(unique_cells)
    n_poly = len(geoms)
    # Smallest owner whose interior holds the hexagon, and smallest owner touching it at all.
    best_hold = np.full(n_cells, n_poly, dtype=np.int64)
    np.minimum.at(best_hold, pair_slot[holds], owners[holds])
    best_touch_only = np.full(n_cells, n_poly, dtype=np.int64)
    partial = touches & ~holds
    np.minimum.at(best_touch_only, pair_slot[partial], owners[partial])
    is_interior = best_hold < best_touch_only

    extra_cell = unique_cells[is_interior]
    extra_owner = best_hold[is_interior]

    boundary_pair = touches & ~is_interior[pair_slot]
    b_slot = pair_slot[boundary_pair]
    b_owner = owners[boundary_pair]
    b_cells_all = unique_cells[b_slot]
    b_cells, counts = np.unique(b_cells_all, return_counts=True)
    ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    return extra_cell, extra_owner, b_cells, ptr, b_owner.astype(np.int32)


def _compact(cells: np.ndarray, owners: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Compact each polygon's interior cells and split them into sorted arrays per resolution."""
    by_res: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    order = np.argsort(owners, kind="stable")
    cells, owners = cells[order], owners[order]
    splits = np.flatnonzero(np.diff(owners)) + 1
    for group_cells, group_owner in zip(
        np.split(cells, splits), np.split(owners, splits), strict=True
    ):
        if len(group_cells) == 0:
            continue
        compacted = np.asarray(basic_int.compact_cells(group_cells.tolist()), dtype=np.uint64)
        res = h3cells.cell_resolutions(compacted)
        for r in np.unique(res).tolist():
            sel = compacted[res == r]
            by_res.setdefault(int(r), []).append((sel, np.full(len(sel), group_owner[0], np.int32)))
    interior: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for r, parts in by_res.items():
        keys = np.concatenate([k for k, _ in parts])
        vals = np.concatenate([v for _, v in parts])
        order = np.argsort(keys)
        interior[r] = (keys[order], vals[order])
    return interior
