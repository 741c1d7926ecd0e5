"""Building a cell map's tables from polygons; see :mod:`geo.cellmap` for the why.

Everything here runs once per set of polygons (the result is saved): the
H3 cells of each polygon, the exact verdict on cells near boundaries, the
compaction of interior cells, and the raster of rectangles that lie wholly
inside one polygon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from h3.api import basic_int

from geo import h3cells

_CELL_SCALE = 1.001  # hexagons are grown by 0.1 % before exact tests
_RADIUS_SAFETY = 1.25  # factor on the local circumradius for "surely interior"
_MIN_RES, _MAX_RES = 4, 11
_EDGES_PER_SIDE = 30  # a typical polygon is about this many cell edges across
_RASTER_PER_SIDE = 8  # a typical polygon is about this many raster rectangles across
_RASTER_MAX_CELLS = 4_000_000
_RASTER_PAD = 1e-9  # degrees: rectangles are tested slightly grown, against float rounding


@dataclass(frozen=True)
class CellTables:
    """What a build produces: compacted interior cells per resolution (with their
    polygon), boundary cells with their candidate polygons (CSR), and the raster."""

    interior: dict[int, tuple[np.ndarray, np.ndarray]]
    boundary_cells: np.ndarray
    boundary_ptr: np.ndarray
    boundary_idx: np.ndarray
    raster: Raster


@dataclass(frozen=True)
class Raster:
    """A regular lon/lat grid of rectangles; ``values`` holds, per rectangle, the polygon
    whose interior holds all of it (and which no other polygon touches), else -1.

    It answers most interior points with arithmetic alone, before any H3 cell
    is computed; rectangles are exact in lon/lat, so no margin is needed.
    """

    x0: float
    y0: float
    dx: float
    dy: float
    values: np.ndarray  # int32, shape (ny, nx)

    @classmethod
    def empty(cls) -> Raster:
        return cls(0.0, 0.0, 1.0, 1.0, np.full((0, 0), -1, dtype=np.int32))

    def lookup(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """The polygon of each point's rectangle, or -1 (outside the raster included)."""
        ny, nx = self.values.shape
        if nx == 0:
            return np.full(len(lat), -1, dtype=np.int64)
        col = np.floor((lon - self.x0) / self.dx)
        row = np.floor((lat - self.y0) / self.dy)
        ok = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        flat = np.where(ok, row * nx + col, 0).astype(np.int64)
        return np.where(ok, self.values.ravel()[flat], -1).astype(np.int64)


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


def run_starts(values: np.ndarray) -> np.ndarray:
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


def build_tables(geoms: np.ndarray, res: int) -> CellTables:
    """The tables of a cell map at resolution ``res`` for checked polygons."""
    inner_cells, inner_owner, band_cells, band_owner = [], [], [], []
    for i, geom in enumerate(geoms):
        band, inside = _band_and_inside_cells(geom, res)
        inner_cells.append(np.setdiff1d(inside, band, assume_unique=True))
        inner_owner.append(i)
        band_cells.append(band)
        band_owner.append(i)
    deep_cell, deep_owner = _sorted_pairs(inner_cells, inner_owner)
    band_cell, band_own = _sorted_pairs(band_cells, band_owner)
    in_band = np.isin(deep_cell, band_cell)

    # Cells in no band: every polygon listing them holds them in its interior.
    clear_cell, clear_owner = deep_cell[~in_band], deep_owner[~in_band]
    first = run_starts(clear_cell)  # pairs are sorted: lowest owner first
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
    raster = interior_raster(prepared)
    return CellTables(interior, b_cells, b_ptr, b_idx, raster)


def interior_raster(prepared: np.ndarray) -> Raster:
    """Classify a regular grid of rectangles over the polygons; see :class:`Raster`."""
    minx, miny, maxx, maxy = shapely.total_bounds(prepared)
    geod = pyproj.Geod(ellps="WGS84")
    sample = prepared[:: max(1, len(prepared) // 500)]
    side_m = float(np.sqrt(np.median(np.abs([geod.geometry_area_perimeter(g)[0] for g in sample]))))
    lat0 = (miny + maxy) / 2
    dy = side_m / _RASTER_PER_SIDE / 110_574.0
    dx = dy / max(np.cos(np.radians(lat0)), 0.05)
    nx, ny = int(np.ceil((maxx - minx) / dx)) + 1, int(np.ceil((maxy - miny) / dy)) + 1
    if nx * ny > _RASTER_MAX_CELLS or not np.isfinite(dx * dy) or dx <= 0:
        return Raster.empty()  # polygons too spread out for a useful raster
    cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
    x = minx + cols.ravel() * dx
    y = miny + rows.ravel() * dy
    rects = shapely.box(
        x - _RASTER_PAD, y - _RASTER_PAD, x + dx + _RASTER_PAD, y + dy + _RASTER_PAD
    )
    tree = shapely.STRtree(prepared)
    rect_of_pair, poly_of_pair = tree.query(rects, predicate="intersects")
    touching = np.bincount(rect_of_pair, minlength=len(rects))
    single = touching[rect_of_pair] == 1
    inside = np.zeros(len(single), dtype=bool)
    inside[single] = shapely.contains_properly(
        prepared[poly_of_pair[single]], rects[rect_of_pair[single]]
    )
    values = np.full(len(rects), -1, dtype=np.int32)
    values[rect_of_pair[inside]] = poly_of_pair[inside]
    return Raster(minx, miny, dx, dy, values.reshape(ny, nx))


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


def _decide_band(
    geoms: np.ndarray, cells: np.ndarray, owners: np.ndarray, deep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exact verdict on cells near a boundary.

    Returns extra interior cells with their owners, and the boundary cells as
    CSR arrays (cells, pointers, candidate polygon indices).
    """
    order = np.lexsort((owners, cells))
    cells, owners, deep = cells[order], owners[order], deep[order]
    keep = run_starts(cells) | run_starts(owners)
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
