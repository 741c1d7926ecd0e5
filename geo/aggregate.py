"""Counts of reports per H3 cell, and the complete cell field of a study area.

Every report keeps its H3 cell at a fine resolution; a coarser cell is a bit
operation on that index (:func:`geo.h3cells.cells_to_parents`), so counting at
any resolution, time window and category is a handful of numpy passes over
the reports, with no Python loop per report and no spatial SQL.

Hot-spot statistics need a *complete* field: every cell of the study area,
including the cells where nothing was reported (a zero is data, not a hole),
plus any cell that holds a report even if it lies outside the area (reports
just outside the city are real and must not vanish from the map).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo.errors import GeoInputError
from geo.h3cells import cell_resolutions, cells_of_geometry, cells_to_parents

UInt64Array = NDArray[np.uint64]
Int64Array = NDArray[np.int64]
TimeLike = str | datetime | np.datetime64 | pd.Timestamp


def as_datetime64(values: Any, tz: str | None = None) -> NDArray[np.datetime64]:
    """Instants as naive ``datetime64[ns]``: UTC, or wall-clock time in ``tz``.

    Accepts numpy ``datetime64`` arrays, pandas Series/Index (tz-aware or not)
    and lists of strings or datetimes. Naive input is taken as UTC, which is
    how the store keeps instants. With ``tz`` (e.g. ``"Asia/Shanghai"``) the
    result is local wall-clock time, so days, weeks and months are the ones a
    person in that city means.
    """
    if not isinstance(values, pd.Series | pd.Index):
        values = np.atleast_1d(np.asarray(values))
    # utc=True: naive values are read as UTC, aware ones converted to UTC
    idx = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    local = idx.tz_convert(tz or "UTC").tz_localize(None)
    return np.asarray(local.to_numpy(dtype="datetime64[ns]"))


def _one_instant(value: TimeLike, tz: str | None = None) -> np.datetime64:
    return np.datetime64(as_datetime64([value], tz)[0], "ns")


def _check_resolution(cells: UInt64Array, res: int) -> None:
    if len(cells) and int(cell_resolutions(cells).min()) < res:
        raise GeoInputError(
            f"some cells are coarser than resolution {res}; store reports at a fine "
            f"resolution and aggregate upwards (asked for res {res})"
        )


def report_mask(
    n: int,
    *,
    categories: Any = None,
    category_filter: str | Collection[str] | None = None,
    times: Any = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
) -> NDArray[np.bool_]:
    """Which of ``n`` reports pass a category filter and the window [since, until).

    Shared by every aggregation so that "per category, per time window" means
    the same thing everywhere: ``since`` is inclusive, ``until`` exclusive;
    naive bounds and naive times are UTC.
    """
    keep = np.ones(n, dtype=bool)
    if category_filter is not None:
        if categories is None:
            raise GeoInputError("category_filter needs the categories of the reports")
        cats = np.asarray(categories, dtype=object)
        if len(cats) != n:
            raise GeoInputError(f"{len(cats)} categories for {n} reports")
        wanted = [category_filter] if isinstance(category_filter, str) else list(category_filter)
        keep &= np.isin(cats, np.asarray(wanted, dtype=object))
    if since is not None or until is not None:
        if times is None:
            raise GeoInputError("since/until need the times of the reports")
        t = as_datetime64(times)
        if len(t) != n:
            raise GeoInputError(f"{len(t)} times for {n} reports")
        if since is not None:
            keep &= t >= _one_instant(since)
        if until is not None:
            keep &= t < _one_instant(until)
    return keep


def counts_per_cell(
    cells: np.ndarray,
    res: int,
    *,
    categories: Any = None,
    category_filter: str | Collection[str] | None = None,
    times: Any = None,
    since: TimeLike | None = None,
    until: TimeLike | None = None,
) -> tuple[UInt64Array, Int64Array]:
    """Number of reports per H3 cell at ``res``.

    Parameters
    ----------
    cells
        The fine H3 cell (uint64) of each report, at ``res`` or finer.
    res
        Resolution of the counting cells; parents are derived by bit operations.
    categories, category_filter
        Category of each report, and the category (or categories) to keep.
    times, since, until
        Time of each report and the half-open window [since, until) to keep.

    Returns
    -------
    cells_at_res, counts
        Sorted unique cells (uint64) that hold at least one report, and their counts.
    """
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    _check_resolution(cells, res)
    keep = report_mask(
        len(cells),
        categories=categories,
        category_filter=category_filter,
        times=times,
        since=since,
        until=until,
    )
    parents = cells_to_parents(cells[keep], res)
    uniq, counts = np.unique(parents, return_counts=True)
    return uniq.astype(np.uint64), counts.astype(np.int64)


def study_area_cells(area: shapely.Geometry, res: int) -> UInt64Array:
    """Every cell at ``res`` whose centre lies in ``area`` (a shapely (multi)polygon),
    sorted; this is the zero-including part of a hot-spot field."""
    if not isinstance(area, shapely.Geometry):
        raise GeoInputError("the study area must be a shapely (multi)polygon")
    if shapely.get_type_id(area) not in (3, 6):  # Polygon, MultiPolygon
        raise GeoInputError(f"the study area must be a polygon, got {type(area).__name__}")
    return cells_of_geometry(area, res)


def complete_field(
    area_cells: np.ndarray, cells: np.ndarray, counts: np.ndarray
) -> tuple[UInt64Array, Int64Array]:
    """The field a hot-spot statistic runs on: all area cells (zeros included)
    plus every cell that holds reports, with the counts summed per cell.

    Parameters
    ----------
    area_cells
        Cells of the study area (e.g. from :func:`study_area_cells`).
    cells, counts
        Cells holding reports and their counts (e.g. from :func:`counts_per_cell`);
        a cell listed twice has its counts added.

    Returns
    -------
    field_cells, field_counts
        Sorted unique cells (uint64) and their counts (int64, zeros included).
    """
    area = np.asarray(area_cells, dtype=np.uint64).ravel()
    held = np.asarray(cells, dtype=np.uint64).ravel()
    cnt = np.asarray(counts).ravel()
    if len(held) != len(cnt):
        raise GeoInputError(f"{len(cnt)} counts for {len(held)} cells")
    if len(cnt) and np.any(cnt < 0):
        raise GeoInputError("counts cannot be negative")
    field = np.union1d(area, held).astype(np.uint64)
    out = np.zeros(len(field), dtype=np.int64)
    np.add.at(out, np.searchsorted(field, held), cnt.astype(np.int64))
    return field, out


__all__ = [
    "as_datetime64",
    "complete_field",
    "counts_per_cell",
    "report_mask",
    "study_area_cells",
]
