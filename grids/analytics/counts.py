"""Reports reduced to counts per coarse cell (and time bin): all the statistics need.

Gi* and the emerging hot-spot cube never look at a single report, only at how
many fell in each cell (and each time bin). So the analyses in
``grids.analytics.hotspots`` take a :class:`Counter` — the store's cases
counted in memory (:class:`StoreCounter`, the default) or an exported Parquet
history counted by a map-reduce on a Dask cluster
(``grids.analytics.dask_counts``) — and both give the same counts, hence the
same cells, z, p and classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.aggregate import counts_per_cell
from geo.emerging import Freq, cells_and_bins
from grids.analytics.cases import case_points
from grids.analytics.selection import ReportPoints, Selection
from grids.city.directory import UnitInfo


@dataclass(frozen=True)
class ReportCounts:
    """Counts of a selection's reports.

    ``cells`` are at the analysis' resolution; ``bins`` (emerging only, else None)
    are time bins of :func:`geo.emerging.time_bins` in the city's calendar; a
    (cell, bin) pair may repeat, its counts add up. ``first``/``last`` are the
    earliest and latest report times (UTC; None without reports); ``excluded``
    counts the cases left out as rejected invalid or duplicate.
    """

    source: str
    cells: NDArray[np.uint64]
    bins: NDArray[np.int64] | None
    counts: NDArray[np.int64]
    excluded: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    @property
    def reports(self) -> int:
        return int(self.counts.sum())


class Counter(Protocol):
    """Where a selection's reports come from, reduced to counts."""

    def __call__(
        self,
        selection: Selection,
        unit: UnitInfo | None,
        *,
        res: int,
        freq: Freq | None = None,
        tz: str = "UTC",
    ) -> ReportCounts: ...


def count_points(
    points: ReportPoints, *, res: int, freq: Freq | None = None, tz: str = "UTC"
) -> ReportCounts:
    """Report points counted per cell at ``res`` (and per time bin with ``freq``)."""
    first = pd.Timestamp(points.times.min(), tz="UTC") if len(points) else None
    last = pd.Timestamp(points.times.max(), tz="UTC") if len(points) else None
    if freq is None:
        cells, counts = counts_per_cell(points.cells, res)
        return ReportCounts(points.source, cells, None, counts, points.excluded, first, last)
    cells, bins = cells_and_bins(points.cells, points.times, res=res, freq=freq, tz=tz)
    ones = np.ones(len(cells), dtype=np.int64)
    return ReportCounts(points.source, cells, bins, ones, points.excluded, first, last)


@dataclass(frozen=True)
class StoreCounter:
    """The store's cases of a selection (one query), counted in memory."""

    session: Session

    def __call__(
        self,
        selection: Selection,
        unit: UnitInfo | None,
        *,
        res: int,
        freq: Freq | None = None,
        tz: str = "UTC",
    ) -> ReportCounts:
        points = case_points(self.session, selection, unit)
        return count_points(points, res=res, freq=freq, tz=tz)
