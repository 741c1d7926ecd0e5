"""PostGIS at size: the five questions of a dispatch centre on a store of millions of cases.

Builds the sample city (scale 1.0) into a database of its own on the local PostgreSQL
(``gridwatch_size``), fills it with ``--cases`` synthetic cases and their audit rows over
three years (``grids.samples.at_size``: ``INSERT … SELECT generate_series`` on the server),
VACUUM ANALYZE, then asks each operation of ``grids.samples.plans.OPERATIONS`` ``--repeat``
times with random towns, cases, points, weeks and months, through the service's own code
(ORM, pandas and all), and reports p50 and p99 per operation. Writes
``benchmarks/postgis_size_results.md``; drops the database unless ``--keep``.

Run: ``.venv/bin/python benchmarks/postgis_size.py [--cases 10000000] [--repeat 200] [--keep]``.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grids.db import make_engine, session_factory, transaction, upgrade_schema  # noqa: E402
from grids.samples import build_sample_city  # noqa: E402
from grids.samples.at_size import fill_cases  # noqa: E402
from grids.samples.lifecycles import YEAR_END  # noqa: E402
from grids.samples.load import load_sample_city  # noqa: E402
from grids.samples.plans import OPERATIONS, Sample  # noqa: E402

HERE = Path(__file__).resolve().parent
TAXONOMY = REPO / "data_samples" / "taxonomy.toml"
SOCKET = "/var/run/postgresql"
DATABASE = "gridwatch_size"


def build(n_cases: int, city: Path | None) -> tuple[str, dict[str, float]]:
    """A fresh database with the city and ``n_cases`` cases; its URL and the build times."""
    subprocess.run(["dropdb", "-h", SOCKET, "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", SOCKET, DATABASE], check=True)
    url = f"postgresql+psycopg://@/{DATABASE}?host={SOCKET}"
    engine = make_engine(url)
    upgrade_schema(engine)
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        city_dir = city or Path(tmp)
        if city is None:
            build_sample_city(city_dir, scale=1.0)
        with transaction(session_factory(engine)) as session:
            load_sample_city(session, city_dir, TAXONOMY)
    start = time.perf_counter()
    with engine.begin() as conn:
        counts = fill_cases(
            conn,
            n_cases,
            end=YEAR_END,
            progress=lambda stage, n: print(
                f"  {stage} {n:,} after {time.perf_counter() - start:.0f} s", flush=True
            ),
        )
    times["fill_s"] = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")
        conn.exec_driver_sql("VACUUM ANALYZE case_events")
    times["total_s"] = time.perf_counter() - start
    times["events"] = counts.events
    times["open_cases"] = counts.open_cases
    engine.dispose()
    return url, times


def measure(url: str, repeat: int) -> list[tuple[str, float, float, float]]:
    """(operation, p50 ms, p99 ms, max ms) of ``repeat`` random calls each, interleaved."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        sample = Sample.load(session, YEAR_END)
    rng = random.Random(15)
    timings: dict[str, list[float]] = {name: [] for name in OPERATIONS}
    for _ in range(5):  # warm the cache and the connection pool
        for operation in OPERATIONS.values():
            with sessions() as session:
                operation(session, sample, rng)
    for _ in range(repeat):
        for name, operation in OPERATIONS.items():
            with sessions() as session:
                start = time.perf_counter()
                operation(session, sample, rng)
                timings[name].append((time.perf_counter() - start) * 1000)
    engine.dispose()
    return [
        (
            name,
            float(np.percentile(ms, 50)),
            float(np.percentile(ms, 99)),
            float(max(ms)),
        )
        for name, ms in timings.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--city", type=Path, help="the sample city's files, if built already")
    parser.add_argument("--keep", action="store_true", help="keep the database gridwatch_size")
    args = parser.parse_args()
    print(f"building {args.cases:,} cases into {DATABASE} …", flush=True)
    url, times = build(args.cases, args.city)
    try:
        rows = measure(url, args.repeat)
    finally:
        if not args.keep:
            subprocess.run(["dropdb", "-h", SOCKET, "--if-exists", DATABASE], check=True)
    lines = [
        f"PostGIS at size: {args.cases:,} cases, {int(times['events']):,} audit rows, "
        f"{int(times['open_cases']):,} open; built in {times['fill_s'] / 60:.1f} min "
        f"(+ VACUUM ANALYZE: {times['total_s'] / 60:.1f} min); {args.repeat} random calls each.",
        "",
        "| operation | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        *(f"| {n} | {p50:.0f} ms | {p99:.0f} ms | {top:.0f} ms |" for n, p50, p99, top in rows),
    ]
    table = "\n".join(lines)
    print(table)
    (HERE / "postgis_size_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
