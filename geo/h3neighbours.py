"""Neighbour pairs of H3 cells within a field, as flat numpy arrays.

Local statistics (Gi*, emerging hot spots) need, for every cell of a field,
the cells of its k-ring that are also in the field and their grid distance.
Two exact ways, no Python loop per cell in either:

- ``"ij"`` (fast path): H3 local IJ coordinates of every cell relative to one
  anchor turn the field into a small dense raster of cell positions; a k-ring
  is then a fixed set of (di, dj) offsets, and all neighbours of all cells
  are one gather. Local IJ is an exact planar unfolding of the grid away from
  pentagons (it is how H3 itself measures grid distance), so the path is
  taken only when no field cell lies in one of the 12 pentagon base cells,
  the resolution is fine enough that no k-ring can reach a pentagon cell,
  every cell converts from the one anchor, no two cells share a position,
  and the raster stays small.
- ``"h3"`` (general): h3ronpy returns every k-ring with distances, and one
  ``searchsorted`` against the sorted field keeps the pairs inside it.

``tests/geo/test_hotspots.py`` pins the two paths to each other on fields
across base-cell boundaries and next to pentagons.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import h3
import h3ronpy
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from geo.h3cells import cell_resolutions

UInt64Array = NDArray[np.uint64]
IntArray = NDArray[np.int64]
#: Positions are int32 when they fit (as scipy.sparse wants them), else int64.
IndexArray = NDArray[np.signedinteger[Any]]

_BASE_SHIFT = np.uint64(45)
_BASE_MASK = np.uint64(0x7F)
#: The fast path gives up when the raster would be larger than this many cells per field cell.
_MAX_RASTER_RATIO = 64


@dataclass(frozen=True)
class NeighbourPairs:
    """Pairs (row, col) of positions in a field with the grid distance between them.

    ``row`` is non-decreasing, so the pairs are in CSR row order (columns
    within a row are in no particular order); every cell is paired with
    itself at distance 0.
    """

    row: IndexArray
    col: IndexArray
    distance: IndexArray
    n: int


@cache
def _pentagon_base_cells() -> frozenset[int]:
    """The 12 pentagon base cells, where local IJ is warped or fails."""
    return frozenset(h3.get_base_cell_number(c) for c in h3.get_res0_cells() if h3.is_pentagon(c))


def ij_distance(di: np.ndarray, dj: np.ndarray) -> IntArray:
    """Grid distance of an H3 local IJ offset: the two axes are 120° apart, so
    offsets of one sign move diagonally (max) and mixed signs add up (sum)."""
    di = np.asarray(di, dtype=np.int64)
    dj = np.asarray(dj, dtype=np.int64)
    same = (di * dj) >= 0
    return np.where(same, np.maximum(np.abs(di), np.abs(dj)), np.abs(di) + np.abs(dj))


def ij_offsets(k: int) -> tuple[IntArray, IntArray, IntArray]:
    """The (di, dj) offsets of a k-ring in local IJ and their grid distances."""
    di, dj = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
    d = ij_distance(di, dj)
    keep = d <= k
    return di[keep].astype(np.int64), dj[keep].astype(np.int64), d[keep]


def _ij_pairs(field: UInt64Array, k: int) -> NeighbourPairs | None:
    n = len(field)
    base = np.flatnonzero(np.bincount(((field >> _BASE_SHIFT) & _BASE_MASK).astype(np.int64)))
    if _pentagon_base_cells().intersection(base.tolist()):
        return None
    res = int(cell_resolutions(field[:1])[0])
    if np.sqrt(7.0) ** res < 8 * (k + 1):  # pentagon cells within reach of a k-ring
        return None
    anchor = int(field[0])
    ij = pa.record_batch(
        h3ronpy.cells_to_localij(pa.array(field), anchor, set_failing_to_invalid=True)
    )
    if ij.column("i").null_count or ij.column("j").null_count:
        return None
    i = np.asarray(ij.column("i"), dtype=np.int64)
    j = np.asarray(ij.column("j"), dtype=np.int64)
    i0, j0 = int(i.min()) - k, int(j.min()) - k
    height, width = int(i.max()) - i0 + k + 1, int(j.max()) - j0 + k + 1
    if height * width > _MAX_RASTER_RATIO * n + (1 << 16):
        return None
    raster = np.full((height, width), -1, dtype=np.int32)
    raster[i - i0, j - j0] = np.arange(n, dtype=np.int32)
    if np.count_nonzero(raster >= 0) != n:  # a cell listed twice, or not a flat unfolding
        return None
    di, dj, dist = ij_offsets(k)
    # one gather for all cells and all offsets on the flat raster, row-major, so the
    # rows stay grouped (CSR order); int32 positions keep the temporaries small
    index_type = np.int32 if height * width < 2**31 else np.int64
    here = ((i - i0) * width + (j - j0)).astype(index_type)
    step = (di * width + dj).astype(index_type)
    nb = np.take(raster.ravel(), np.add.outer(here, step))
    inside = nb >= 0
    row = np.repeat(np.arange(n, dtype=np.int32), np.count_nonzero(inside, axis=1))
    distance = np.broadcast_to(dist.astype(np.int32), nb.shape)[inside]
    return NeighbourPairs(row, nb[inside], distance, n)


def _h3_pairs(field: UInt64Array, k: int) -> NeighbourPairs:
    n = len(field)
    disks = pa.record_batch(h3ronpy.grid_disk_distances(pa.array(field), k, flatten=False))
    cell_lists = disks.column("cell")
    offsets = np.asarray(cell_lists.offsets, dtype=np.int64)
    ring_cells = np.asarray(cell_lists.values, dtype=np.uint64)
    ring_dist = np.asarray(disks.column("k").values, dtype=np.int64)
    origin = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    order = np.argsort(field, kind="stable")
    sorted_field = field[order]
    if np.any(sorted_field[1:] == sorted_field[:-1]):
        raise ValueError("the cells of a field must be unique")
    pos = np.minimum(np.searchsorted(sorted_field, ring_cells), n - 1)
    inside = sorted_field[pos] == ring_cells
    # h3ronpy lists the disks in the order of the field: ``row`` is non-decreasing
    return NeighbourPairs(origin[inside], order[pos[inside]].astype(np.int64), ring_dist[inside], n)


def grid_disk_pairs(
    cells: np.ndarray, k: int, *, method: Literal["auto", "ij", "h3"] = "auto"
) -> NeighbourPairs:
    """Every pair of field cells within grid distance ``k`` of each other.

    Cells of a k-ring that are not in ``cells`` are dropped: a field is the
    whole world of the statistic, and a cell outside it has no value.

    Parameters
    ----------
    cells
        The field: unique H3 cells (uint64), all at one resolution, any order.
    k
        Grid distance (0 gives only the self pairs).
    method
        ``"auto"`` takes the local-IJ fast path when it is exact and falls back
        to h3ronpy k-rings otherwise; ``"ij"`` and ``"h3"`` force one (``"ij"``
        raises when it cannot be used).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    field = np.asarray(cells, dtype=np.uint64).ravel()
    n = len(field)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return NeighbourPairs(empty, empty, empty, 0)
    res = cell_resolutions(field)
    if res.min() != res.max():
        raise ValueError("the cells of a field must all have one resolution")
    # uniqueness: the IJ raster cannot hold a cell twice (it falls back), the h3 path checks
    if method in ("auto", "ij"):
        pairs = _ij_pairs(field, k)
        if pairs is not None:
            return pairs
        if method == "ij":
            raise ValueError("local IJ coordinates cannot be used for this field (pentagon/extent)")
    return _h3_pairs(field, k)
