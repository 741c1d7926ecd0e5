"""H3 over numpy arrays: cells of points, parents by bit operations, cell shapes.

h3-py works one cell at a time; everything that can be done on the 64-bit
index itself (resolution, parent) is done here on whole arrays instead.
"""

from __future__ import annotations

from typing import cast

import h3
import h3ronpy
import h3ronpy.vector
import numpy as np
import pyarrow as pa
import shapely
from h3.api import basic_int

MAX_RES = 15
_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)


def latlng_to_cells(lat: np.ndarray, lon: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (uint64) of points given in WGS-84 degrees.

    h3-py works one point at a time (about 0.6 µs a point through Python);
    h3ronpy runs h3o, the Rust port of the same algorithm, over whole arrays
    in about half that. ``tests/geo/test_h3cells.py`` pins the two together.
    """
    lat_arr = np.ascontiguousarray(lat, dtype=np.float64)
    lon_arr = np.ascontiguousarray(lon, dtype=np.float64)
    if len(lat_arr) == 0:
        return np.empty(0, dtype=np.uint64)
    cells = h3ronpy.vector.coordinates_to_cells(lat_arr, lon_arr, res)
    return np.asarray(pa.array(cells), dtype=np.uint64)


def cell_resolutions(cells: np.ndarray) -> np.ndarray:
    """Resolution of each cell, read from bits 52-55 of the index."""
    return ((np.asarray(cells, dtype=np.uint64) & _RES_MASK) >> np.uint64(_RES_SHIFT)).astype(
        np.int8
    )


def cells_to_parents(cells: np.ndarray, res: int) -> np.ndarray:
    """Parent at ``res`` of each cell (all cells must be at ``res`` or finer).

    The parent sets the resolution field and fills the digits below ``res``
    with 7 (binary 111), which is how H3 marks unused digits.
    """
    if not 0 <= res <= MAX_RES:
        raise ValueError(f"H3 resolution must be 0..15, got {res}")
    unused = np.uint64((1 << (3 * (MAX_RES - res))) - 1)
    cells = np.asarray(cells, dtype=np.uint64)
    return (cells & ~_RES_MASK) | np.uint64(res << _RES_SHIFT) | unused


def descendant_ranges(cells: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    """For cells at ``res`` or coarser, the first and last index of their descendants at ``res``.

    Descendants of a cell at ``res`` share every bit above its last digit, so
    they fill one interval of integers in which no other valid cell of that
    resolution lies: a lookup of many compacted cells is one ``searchsorted``.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    own = cell_resolutions(cells).astype(np.uint64)
    below = np.uint64(3 * (MAX_RES - res))
    free = (np.uint64(1) << (np.uint64(3 * MAX_RES) - np.uint64(3) * own)) - (np.uint64(1) << below)
    # digits between the cell's resolution and ``res``: 0 for the first, 6 for the last
    sixes = free & np.uint64(int("110" * MAX_RES, 2))
    lo = ((cells & ~_RES_MASK) | np.uint64(res << _RES_SHIFT)) & ~free
    return lo, lo | sixes


def cell_to_parent_int(cell: int, res: int) -> int:
    """Scalar twin of :func:`cells_to_parents` for the one-point fast path."""
    return (cell & ~(0xF << _RES_SHIFT)) | (res << _RES_SHIFT) | ((1 << (3 * (MAX_RES - res))) - 1)


def cells_of_geometry(geom: shapely.Geometry, res: int) -> np.ndarray:
    """Cells whose centre lies inside a (multi)polygon, as sorted uint64."""
    if shapely.is_empty(geom):
        return np.empty(0, dtype=np.uint64)
    cells = basic_int.geo_to_cells(geom, res)
    return np.unique(np.asarray(cells, dtype=np.uint64))


def cells_to_polygons(cells: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """Shapely polygons (lon/lat) of cells, optionally scaled about their centres.

    A ``scale`` slightly above 1 gives a polygon that surely contains every
    point H3 assigns to the cell, whatever the curvature of its true edges.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    wkb = h3ronpy.vector.cells_to_wkb_polygons(pa.array(cells))
    polygons = shapely.from_wkb(np.asarray(pa.array(wkb), dtype=object))
    if scale == 1.0:
        return cast(np.ndarray, polygons)
    coords, owner = shapely.get_coordinates(polygons, return_index=True)
    counts = np.bincount(owner, minlength=len(cells))
    sums = np.zeros((len(cells), 2))
    np.add.at(sums, owner, coords)
    sums -= coords[np.cumsum(counts) - counts]  # each ring repeats its first vertex at the end
    centres = (sums / (counts - 1)[:, None])[owner]
    rings = shapely.linearrings(centres + (coords - centres) * scale, indices=owner)
    return cast(np.ndarray, shapely.polygons(rings))


def cell_size_degrees(lat: float, lon: float, res: int) -> tuple[float, float]:
    """For the cell at a point, in plain lon/lat degrees: its largest
    centre-to-vertex distance and the smallest distance to a neighbour's centre."""
    cell = basic_int.latlng_to_cell(lat, lon, res)
    clat, clon = basic_int.cell_to_latlng(cell)
    verts = np.asarray(basic_int.cell_to_boundary(cell))
    radius = float(np.max(np.hypot(verts[:, 0] - clat, verts[:, 1] - clon)))
    ring = np.asarray([basic_int.cell_to_latlng(c) for c in basic_int.grid_ring(cell, 1)])
    spacing = float(np.min(np.hypot(ring[:, 0] - clat, ring[:, 1] - clon)))
    return radius, spacing


def grid_disks(cells: np.ndarray, k: int) -> np.ndarray:
    """Sorted unique cells within grid distance ``k`` of any of ``cells``."""
    if len(cells) == 0:
        return np.empty(0, dtype=np.uint64)
    disks = h3ronpy.grid_disk(pa.array(np.asarray(cells, dtype=np.uint64)), k, flatten=True)
    return np.unique(np.asarray(pa.array(disks), dtype=np.uint64))


def average_edge_length_m(res: int) -> float:
    """Mean hexagon edge length at a resolution, in metres."""
    return float(h3.average_hexagon_edge_length(res, unit="m"))
