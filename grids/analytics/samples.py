"""The sample city's synthetic reports as report points.

They are read from ``<samples_dir>/generated/reports.parquet`` (once per
version of the file), placed in time by when they occurred, and located in
the store's grids once per grid locator.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.aggregate import as_datetime64
from geo.h3cells import latlng_to_cells
from grids.analytics.area import grid_parents
from grids.analytics.selection import SOURCE_SAMPLES, ReportPoints, Selection
from grids.cases.intake import CASE_H3_RES
from grids.city.directory import UnitInfo
from grids.city.locator import GridLocator
from grids.errors import NotReady

SAMPLE_REPORTS = Path("generated") / "reports.parquet"


@dataclass
class _SampleReports:
    """The sample reports with their fine cells, located in the store's grids once."""

    stamp: tuple[int, int]
    cells: NDArray[np.uint64]
    times: NDArray[np.datetime64]
    categories: NDArray[np.object_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    located: tuple[weakref.ref[GridLocator], NDArray[np.int64]] | None = None


_lock = threading.Lock()
_samples: dict[Path, _SampleReports] = {}


def sample_reports_path(samples_dir: Path) -> Path:
    return Path(samples_dir) / SAMPLE_REPORTS


def _load_samples(samples_dir: Path) -> _SampleReports:
    path = sample_reports_path(samples_dir)
    if not path.exists():
        raise NotReady(
            f"the store has no cases in this time window and there are no sample reports at "
            f"{path}; run `gridwatch samples build`, or ask for source=cases"
        )
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _samples.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
    frame = pd.read_parquet(path, columns=["occurred_at", "lat", "lon", "category"])
    lat = frame["lat"].to_numpy(dtype=np.float64)
    lon = frame["lon"].to_numpy(dtype=np.float64)
    loaded = _SampleReports(
        stamp,
        latlng_to_cells(lat, lon, CASE_H3_RES),
        as_datetime64(frame["occurred_at"]),
        frame["category"].to_numpy(dtype=object),
        lat,
        lon,
    )
    with _lock:
        _samples[path] = loaded
    return loaded


def sample_points(
    samples_dir: Path, locator: GridLocator, selection: Selection, unit: UnitInfo | None
) -> ReportPoints:
    """The sample city's synthetic reports as report points, filtered like cases."""
    reports = _load_samples(samples_dir)
    keep = selection.in_window(reports.times)
    if selection.category is not None:
        keep &= reports.categories == selection.category
    if unit is not None:
        index = _sample_grid_index(reports, locator)
        inside = np.zeros(len(index), dtype=bool)
        located = index >= 0
        inside[located] = grid_parents(locator).mask(unit)[index[located]]
        keep &= inside
    return ReportPoints(
        SOURCE_SAMPLES, reports.cells[keep], reports.times[keep], reports.categories[keep]
    )


def _sample_grid_index(reports: _SampleReports, locator: GridLocator) -> NDArray[np.int64]:
    """The grid (index into the locator's grids, -1 outside) of each sample report,
    located once per locator (the current grids)."""
    with _lock:
        located = reports.located
    if located is not None and located[0]() is locator:
        return located[1]
    index = np.asarray(locator.locate_many(reports.lat, reports.lon).index, dtype=np.int64)
    with _lock:
        reports.located = (weakref.ref(locator), index)
    return index
