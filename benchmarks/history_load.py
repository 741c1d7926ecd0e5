"""The bulk load of the sample city's year (cases, audit rows, rewards, check-ins) at
scale 1.0, on SQLite and on PostgreSQL, against the same reports through live intake.

The city's files are generated once (into a temporary directory, or reused from
``--city``); each backend gets a fresh store with the city loaded, and the time
measured is that of ``load_sample_history`` alone: arrivals, checks and routing
by the rules of intake, lifecycles, COPY / executemany, indexes built after the
load. The comparison is live intake (``create_case``, one transaction a report)
on the first 300 reports, extrapolated to the year.

Run: ``.venv/bin/python benchmarks/history_load.py [--scale 1.0] [--city DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grids.cases.intake import CaseConfig, NewReport, create_case  # noqa: E402
from grids.city.locator import GridLocator  # noqa: E402
from grids.db import make_engine, session_factory, transaction, upgrade_schema  # noqa: E402
from grids.samples import build_sample_city  # noqa: E402
from grids.samples.history import load_sample_history, sample_reports  # noqa: E402
from grids.samples.lifecycles import YEAR_END  # noqa: E402
from grids.samples.load import load_sample_city, load_sample_patrols  # noqa: E402

TAXONOMY = REPO / "data_samples" / "taxonomy.toml"
POSTGIS = "postgresql+psycopg://@/gridwatch_test?host=/var/run/postgresql"
AS_OF = YEAR_END


def _store(backend: str, tmp: Path) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGIS, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGIS}&options=-csearch_path%3D{schema},public"
    return url, (admin, schema)


def run(backend: str, city: Path, tmp: Path, scale: float) -> tuple[float, float, dict]:
    url, cleanup = _store(backend, tmp)
    engine = make_engine(url)
    try:
        upgrade_schema(engine)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            load_sample_city(session, city, TAXONOMY)
        with sessions() as session:
            locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
        with transaction(sessions) as session:
            load_sample_patrols(session, locator, city)
        config = CaseConfig(secret="bench")
        reports = sample_reports(city)
        started = time.perf_counter()
        with engine.begin() as conn:
            counts, checkins, written = load_sample_history(
                conn, locator, config, reports, as_of=AS_OF, scale=scale, seed=1, demo_reporter=None
            )
        bulk = time.perf_counter() - started
        sample = written.head(300)
        started = time.perf_counter()
        for row in sample.itertuples():
            with transaction(sessions) as session:
                create_case(
                    session,
                    locator,
                    config,
                    NewReport(
                        lat=row.lat,
                        lon=row.lon,
                        category=row.category,
                        occurred_at=row.occurred_at.to_pydatetime(),
                    ),
                    user=None,
                    now=row.reported_at.to_pydatetime(),
                    allow_outside=True,
                )
        live = (time.perf_counter() - started) / len(sample) * counts.cases
        facts = {"cases": counts.cases, "events": counts.events, "rewards": counts.rewards}
        return bulk, live, facts | {"checkins": checkins}
    finally:
        engine.dispose()
        if cleanup is not None:
            admin, schema = cleanup  # type: ignore[misc]
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--city", type=Path, default=None)
    parser.add_argument("--backends", default="sqlite,postgis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        city = args.city
        if city is None or not (city / "reports.parquet").exists():
            city = city or tmp / "city"
            build_sample_city(city, scale=args.scale)
        print(
            "| backend | cases | audit rows | rewards | check-ins | bulk load s | live intake s |"
        )
        print("|---|---|---|---|---|---|---|")
        for backend in args.backends.split(","):
            bulk, live, facts = run(backend, city, tmp, args.scale)
            print(
                f"| {backend} | {facts['cases']:,} | {facts['events']:,} | {facts['rewards']:,} "
                f"| {facts['checkins']:,} | {bulk:.1f} | {live:.0f} (extrapolated) |",
                flush=True,
            )
            assert bulk <= 180, f"{backend}: the bulk load took {bulk:.0f} s, over 3 minutes"


if __name__ == "__main__":
    main()
