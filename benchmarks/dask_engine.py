"""Hot spots of a large history: the in-memory engine against the Dask engine, in one run.

Synthetic exported histories (the layout of ``gridwatch export cases``: hive
``month=YYYY-MM`` partitions, here several files a month) of 10 and 50 million
reports, written directly with numpy: res-12 cells inside the sample city's
area (Dongguan's towns), drawn from res-9 cells with log-normal intensities so
the field has real hot and cold spots, a year of report times, 5 % of the
cases rejected or duplicates. Each run computes Gi* (k = 1) on the complete
res-9 field of the whole area in a fresh process:

- memory: the export read into the arrays the store path builds (cells, times,
  categories; more generous than the store, which also pays for SQL), counted
  with ``grids.analytics.counts.count_points``;
- dask: ``grids.analytics.dask_counts.DaskCounter`` on a LocalCluster of 1 and
  2 worker processes (one thread each).

Both then run the same ``complete_field`` and ``hotspot_table``; the runs must
give identical tables. Reported: wall time, peak RSS of the process, and for
Dask the peak RSS of the workers (sum and largest, sampled every 0.2 s).

Run: ``.venv/bin/python benchmarks/dask_engine.py [--rows 10000000 50000000]``;
writes ``benchmarks/dask_results.md``. Do not run it beside other heavy work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geo.aggregate import complete_field, study_area_cells  # noqa: E402
from geo.hotspots import hotspot_table  # noqa: E402
from grids.analytics.export import EXPORT_SCHEMA  # noqa: E402

TOWNS = REPO.parent.parent / "shared" / "data" / "dongguan_towns.geojson"
RES = 9
FILE_ROWS = 2_000_000
CATEGORIES = ["fire_exit", "billboard", "garbage", "fuel_truck", "suspicious", "road"]
OUT = REPO / "benchmarks" / "dask_results.md"


def area_cells(res: int = RES) -> np.ndarray:
    import geopandas as gpd
    import shapely

    towns = TOWNS if TOWNS.exists() else Path("/work/shared/data/dongguan_towns.geojson")
    area = shapely.union_all(gpd.read_file(towns).geometry.values)
    return study_area_cells(area, res)


def _children_12(parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random res-12 descendant of each res-9 cell: resolution field 12, digits 10-12 in 0-6."""
    cells = parents & ~np.uint64(0xF << 52) | np.uint64(12 << 52)
    for r in (10, 11, 12):
        shift = np.uint64(3 * (15 - r))
        digit = rng.integers(0, 7, len(cells)).astype(np.uint64)
        cells = (cells & ~(np.uint64(7) << shift)) | (digit << shift)
    return cells


def generate(out: Path, rows: int, seed: int = 1) -> None:
    """``rows`` synthetic reports of 2026 as an exported history under ``out``."""
    rng = np.random.default_rng(seed)
    cells9 = area_cells()
    weight = rng.lognormal(0, 1.5, len(cells9))
    weight /= weight.sum()
    months = pd.date_range("2026-01-01", periods=13, freq="MS", tz="Asia/Shanghai")
    per_month = rows // 12
    for m in range(12):
        start, end = months[m].tz_convert("UTC"), months[m + 1].tz_convert("UTC")
        (out / f"month={months[m]:%Y-%m}").mkdir(parents=True)
        left, part = per_month + (rows - 12 * per_month if m == 11 else 0), 0
        while left:
            n = min(FILE_ROWS, left)
            span = (end - start).value
            at = start.value + rng.integers(0, span, n) // 1000 * 1000
            rejected = rng.random(n) < 0.05
            cells = _children_12(cells9[rng.choice(len(cells9), n, p=weight)], rng)
            table = pa.table(
                {
                    "cell": cells.view(np.int64),
                    "reported_at": pd.to_datetime(at, utc=True),
                    "category": pa.array(rng.choice(CATEGORIES, n)).dictionary_encode(),
                    "status": np.where(rejected, "rejected", "closed"),
                    "reject_reason": np.where(rejected, "duplicate", None),
                    "duplicate": rejected,
                    "counted": ~rejected,
                    "grid_code": pa.nulls(n, pa.string()),
                    "community_code": pa.nulls(n, pa.string()),
                    "town_code": pa.nulls(n, pa.string()),
                }
            ).cast(EXPORT_SCHEMA)
            pq.write_table(table, out / f"month={months[m]:%Y-%m}" / f"part-{part}.parquet")
            left, part = left - n, part + 1


def _gi(cells: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    field, values = complete_field(area_cells(), cells, counts)
    return hotspot_table(field, values, k=1)


def run_memory(history: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    from geo.aggregate import as_datetime64
    from grids.analytics.counts import count_points
    from grids.analytics.selection import SOURCE_CASES, ReportPoints

    frame = pd.read_parquet(history, columns=["cell", "reported_at", "category", "counted"])
    frame = frame[frame["counted"].to_numpy(dtype=bool)]
    points = ReportPoints(
        SOURCE_CASES,
        frame["cell"].to_numpy(dtype=np.int64).astype(np.uint64),
        as_datetime64(frame["reported_at"]),
        frame["category"].to_numpy(dtype=object),
    )
    del frame
    counted = count_points(points, res=RES)
    return _gi(counted.cells, counted.counts), {}


def run_dask(history: Path, workers: int) -> tuple[pd.DataFrame, dict[str, float]]:
    import psutil
    from distributed import Client, LocalCluster

    from grids.analytics.dask_counts import DaskCounter
    from grids.analytics.selection import Selection

    peak = {"workers_sum_mb": 0.0, "worker_max_mb": 0.0}
    stop = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not stop.wait(0.2):
            sizes = []
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    sizes.append(child.memory_info().rss / 2**20)
            peak["workers_sum_mb"] = max(peak["workers_sum_mb"], sum(sizes))
            peak["worker_max_mb"] = max(peak["worker_max_mb"], max(sizes, default=0.0))

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit="8GiB",
        ) as cluster,
        Client(cluster),
    ):
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        counted = DaskCounter(history)(Selection(), None, res=RES)
        table = _gi(counted.cells, counted.counts)
        elapsed = time.perf_counter() - started
        stop.set()
    return table, {**peak, "compute_s": elapsed}


def one(engine: str, history: Path, workers: int, result: Path) -> None:
    """One measured run (in a fresh process): the table to ``result``, numbers on stdout."""
    started = time.perf_counter()
    if engine == "memory":
        table, extra = run_memory(history)
    else:
        table, extra = run_dask(history, workers)
    wall = time.perf_counter() - started
    table.to_parquet(result)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "rss_mb": rss, **extra, "cells": len(table)}))


def measure(engine: str, history: Path, workers: int, result: Path) -> dict[str, float]:
    args = ["--one", engine, "--history", str(history), "--workers", str(workers)]
    done = subprocess.run(
        [sys.executable, __file__, *args, "--result", str(result)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 50_000_000])
    parser.add_argument("--one", choices=["memory", "dask"])
    parser.add_argument("--history", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--result", type=Path)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.history, args.workers, args.result)
        return
    lines = [
        "| reports | engine | wall s | of which counting + Gi* s | process peak RSS MB "
        "| workers' peak RSS MB (sum / largest) | identical to memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for rows in args.rows:
        with tempfile.TemporaryDirectory(prefix="gridwatch-dask-bench-") as tmp:
            history = Path(tmp) / "history"
            started = time.perf_counter()
            generate(history, rows)
            print(f"{rows:,} rows generated in {time.perf_counter() - started:.0f} s", flush=True)
            want_path = Path(tmp) / "memory0.parquet"
            runs = [("memory", 0), ("dask", 1), ("dask", 2)]
            for engine, workers in runs:
                path = Path(tmp) / f"{engine}{workers}.parquet"
                got = measure(engine, history, workers, path)
                same = "—"
                if engine == "dask":
                    pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(want_path))
                    same = "yes (assert_frame_equal, exact)"
                name = "memory (numpy)" if engine == "memory" else f"dask, {workers} worker(s)"
                workers_mb = (
                    f"{got['workers_sum_mb']:,.0f} / {got['worker_max_mb']:,.0f}"
                    if engine == "dask"
                    else "—"
                )
                compute = got.get("compute_s", got["wall_s"])
                line = (
                    f"| {rows:,} | {name} | {got['wall_s']:.1f} | {compute:.1f} "
                    f"| {got['rss_mb']:,.0f} "
                    f"| {workers_mb} | {same} |"
                )
                print(line, flush=True)
                lines.append(line)
    text = "\n".join(lines) + "\n"
    OUT.write_text(
        "Hot spots (Gi*, res 9, k = 1, the whole sample-city area) of a synthetic exported "
        "history; `.venv/bin/python benchmarks/dask_engine.py` on the 2-core machine.\n"
        "Wall time includes starting the LocalCluster for Dask (and reading the area); "
        "workers' RSS counts the worker processes and their nannies.\n\n" + text,
        encoding="utf-8",
    )
    print(text)


if __name__ == "__main__":
    main()
