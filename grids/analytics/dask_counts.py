"""Counts of an exported Parquet history (``grids.analytics.export``) as a Dask map-reduce.

The analyses need only counts per coarse cell (and time bin), so a history too
large for one machine's memory is reduced where it lies: each partition keeps
the rows of the selection (the store path's rules: ``since`` inclusive,
``until`` exclusive, the category, the unit's code, cases that ``counted``),
derives the coarse cell from the fine one by bit operations and the time bin
in the city's calendar (the very functions of ``geo`` the in-memory path uses),
and counts (map); the partial counts are summed per (cell, bin) (reduce). The
statistics then run in memory on the reduced field, exactly as for the store.

Dask runs on whatever client is current (a ``LocalCluster`` or a remote
scheduler, chosen by the caller); without one, on its local threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.aggregate import counts_per_cell
from geo.emerging import Freq, cells_and_bins
from grids.analytics.counts import ReportCounts
from grids.analytics.selection import SOURCE_CASES, Selection
from grids.city.directory import UnitInfo
from grids.errors import InvalidInput

READ_COLUMNS = ["cell", "reported_at", "category", "counted", "grid_code", "community_code"]
READ_COLUMNS += ["town_code"]


@dataclass(frozen=True)
class _Query:
    """What each partition needs to know (small, pickled to the workers)."""

    since: pd.Timestamp | None
    until: pd.Timestamp | None
    category: str | None
    unit_column: str | None
    unit_code: str | None
    res: int
    freq: Freq | None
    tz: str

    def chosen(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of the selection (counted or not)."""
        keep = np.ones(len(frame), dtype=bool)
        times = frame["reported_at"]
        if self.since is not None:
            keep &= (times >= self.since).to_numpy()
        if self.until is not None:
            keep &= (times < self.until).to_numpy()
        if self.category is not None:
            keep &= (frame["category"] == self.category).to_numpy(dtype=bool, na_value=False)
        if self.unit_column is not None:
            keep &= (frame[self.unit_column] == self.unit_code).to_numpy(dtype=bool, na_value=False)
        return keep


def _partition_counts(frame: pd.DataFrame, query: _Query) -> pd.DataFrame:
    """Map: the partition's counts per (coarse cell, time bin); the bin is 0 without a freq."""
    counted = query.chosen(frame) & frame["counted"].to_numpy(dtype=bool, na_value=False)
    cells = frame["cell"].to_numpy()[counted].astype(np.uint64)
    if query.freq is None:
        held, n = counts_per_cell(cells, query.res)
        bins: np.ndarray = np.zeros(len(held), dtype=np.int64)
    else:
        times = frame["reported_at"][counted]
        keys = cells_and_bins(cells, times, res=query.res, freq=query.freq, tz=query.tz)
        pairs = pd.DataFrame({"cell": keys[0].view(np.int64), "bin": keys[1]})
        grouped = pairs.groupby(["cell", "bin"], sort=False).size()
        held = grouped.index.get_level_values("cell").to_numpy(np.int64).view(np.uint64)
        bins = grouped.index.get_level_values("bin").to_numpy(np.int64)
        n = np.asarray(grouped.to_numpy(np.int64), dtype=np.int64)
    return pd.DataFrame({"cell": held.view(np.int64), "bin": bins, "n": n.astype(np.int64)})


def _partition_summary(frame: pd.DataFrame, query: _Query) -> pd.DataFrame:
    """Map: the partition's excluded cases and its first and last counted report."""
    chosen = query.chosen(frame)
    counted = chosen & frame["counted"].to_numpy(dtype=bool, na_value=False)
    times = frame["reported_at"][counted]
    instant = "datetime64[ns, UTC]"
    return pd.DataFrame(
        {
            "excluded": pd.Series([int((chosen & ~counted).sum())], dtype=np.int64),
            "first": pd.Series([times.min() if len(times) else pd.NaT], dtype=instant),
            "last": pd.Series([times.max() if len(times) else pd.NaT], dtype=instant),
        }
    )


@dataclass(frozen=True)
class DaskCounter:
    """A :class:`grids.analytics.counts.Counter` over an exported history directory."""

    path: Path

    def __call__(
        self,
        selection: Selection,
        unit: UnitInfo | None,
        *,
        res: int,
        freq: Freq | None = None,
        tz: str = "UTC",
    ) -> ReportCounts:
        import dask
        import dask.dataframe as dd

        if not self.path.is_dir() or not any(self.path.glob("month=*")):
            raise InvalidInput(
                f"{self.path} holds no exported history; write one with "
                f"`gridwatch export cases {self.path}`"
            )
        query = _Query(
            pd.Timestamp(selection.since) if selection.since else None,
            pd.Timestamp(selection.until) if selection.until else None,
            selection.category,
            f"{unit.level}_code" if unit is not None else None,
            unit.code if unit is not None else None,
            res,
            freq,
            tz,
        )
        frame = dd.read_parquet(str(self.path), columns=READ_COLUMNS)
        count_meta = pd.DataFrame(
            {"cell": pd.Series(dtype=np.int64), "bin": pd.Series(dtype=np.int64)}
        ).assign(n=pd.Series(dtype=np.int64))
        parts = frame.map_partitions(_partition_counts, query, meta=count_meta)
        reduced = parts.groupby(["cell", "bin"]).n.sum()
        summary_meta = _partition_summary(pd.DataFrame(columns=READ_COLUMNS), query).iloc[:0]
        summaries = frame.map_partitions(_partition_summary, query, meta=summary_meta)
        counts, summary = dask.compute(reduced, summaries)
        first, last = summary["first"].min(), summary["last"].max()
        cells = counts.index.get_level_values("cell").to_numpy(np.int64).view(np.uint64)
        bins = counts.index.get_level_values("bin").to_numpy(np.int64)
        return ReportCounts(
            SOURCE_CASES,
            cells,
            bins if freq is not None else None,
            counts.to_numpy(np.int64),
            int(summary["excluded"].sum()),
            None if pd.isna(first) else pd.Timestamp(first),
            None if pd.isna(last) else pd.Timestamp(last),
        )
