"""Shared fixtures: a fresh store on each backend, the small sample city, app settings.

Every store fixture runs on both backends: an embedded SQLite file and a
real PostgreSQL + PostGIS (``make test`` installs and starts it). Each
PostGIS store lives in a schema of its own, so tests and xdist workers
never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from grids.cases.intake import CaseConfig
from grids.cases.invariants import check_store
from grids.city.directory import Directory
from grids.city.locator import GridLocator
from grids.db import make_engine, session_factory, transaction, upgrade_schema
from grids.history.writer import HistoryCounts
from grids.samples import build_sample_city
from grids.samples.accounts import DemoAccount, create_demo_accounts, demo_reporter_id
from grids.samples.history import load_sample_history, sample_reports
from grids.samples.lifecycles import YEAR_END
from grids.samples.load import load_sample_city, load_sample_patrols

REPO = Path(__file__).resolve().parent.parent
SF_DATA = REPO / "data_samples" / "sf311"
TAXONOMY = REPO / "data_samples" / "taxonomy.toml"
POSTGIS_URL = os.environ.get(
    "GRIDWATCH_TEST_POSTGIS_URL", "postgresql+psycopg://@/gridwatch_test?host=/var/run/postgresql"
)
SAMPLE_SCALE = 0.05
HISTORY_SECRET = "history-secret"
#: The test cities' history ends with the generated year (as `samples build --as-of 2026-11-15`).
HISTORY_AS_OF = YEAR_END
BACKENDS = ["sqlite", "postgis"]


@dataclass
class Store:
    """A migrated, empty store: its URL (for app settings), engine and sessions."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def transaction(self):  # type: ignore[no-untyped-def]
        return transaction(self.sessions)


def _postgis_schema_url(schema: str) -> str:
    url = make_url(POSTGIS_URL)
    query = dict(url.query)
    query["options"] = f"-csearch_path={schema},public"
    return url.set(query=query).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _data_dir_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes the checkout's ``var/``: the default data directory (and with it the
    default store) is a temporary one unless a test names its own."""
    previous = os.environ.get("GRIDWATCH_DATA_DIR")
    os.environ["GRIDWATCH_DATA_DIR"] = str(tmp_path_factory.mktemp("default_data_dir"))
    yield
    if previous is None:
        del os.environ["GRIDWATCH_DATA_DIR"]
    else:
        os.environ["GRIDWATCH_DATA_DIR"] = previous


@pytest.fixture(scope="session")
def postgis_admin() -> Iterator[Engine]:
    engine = create_engine(POSTGIS_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT postgis_version()"))
    except Exception as exc:  # pragma: no cover - make test starts the server
        pytest.fail(f"PostGIS is not reachable at {POSTGIS_URL} ({exc}); run `make test`")
    yield engine
    engine.dispose()


def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    """A fresh store on ``backend``; dropped when the requesting test or module ends."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gridwatch.db'}"
    else:
        admin: Engine = request.getfixturevalue("postgis_admin")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

        request.addfinalizer(drop)
        url = _postgis_schema_url(schema)
    engine = make_engine(url)
    request.addfinalizer(engine.dispose)
    upgrade_schema(engine)
    return Store(backend, url, engine, session_factory(engine))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """An empty, migrated store on each backend, fresh for every test."""
    return make_store(request.param, tmp_path, request)


@pytest.fixture(scope="session")
def sample_city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample city's files at a small scale (about 150 grids), built once per session."""
    out = tmp_path_factory.mktemp("sample_city")
    build_sample_city(out, scale=SAMPLE_SCALE)
    return out


def assert_invariants(store: Store) -> None:
    """What ``gridwatch check`` checks: the case loop's invariants hold in the store."""
    with store.sessions() as session:
        violations = check_store(session, Directory.load(session))
    assert not violations, "\n".join(str(v) for v in violations)


@pytest.fixture(scope="module", params=BACKENDS)
def city_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_city_dir: Path
) -> Iterator[Store]:
    """A store on each backend with the small sample city loaded; shared by a module, whose
    tests must leave the case loop's invariants holding."""
    store = make_store(request.param, tmp_path_factory.mktemp("city_store"), request)
    load_city(store, sample_city_dir)
    yield store
    assert_invariants(store)


@dataclass
class HistoryCity:
    """A store with the small sample city and its year of history, and what was written."""

    store: Store
    written: pd.DataFrame  # the reports as cases: arrival time, town, ...
    counts: HistoryCounts
    checkins: int
    accounts: list[DemoAccount]
    config: CaseConfig

    def token(self, label: str) -> str:
        return next(a.token for a in self.accounts if a.label == label)


def load_city(store: Store, city_dir: Path) -> GridLocator:
    """The sample city's units, people, taxonomy, patrol points and teams; its locator."""
    with store.transaction() as session:
        load_sample_city(session, city_dir, TAXONOMY)
    with store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    with store.transaction() as session:
        load_sample_patrols(session, locator, city_dir)
    return locator


def build_history_city(
    store: Store, city_dir: Path, *, as_of: dt.datetime = HISTORY_AS_OF
) -> HistoryCity:
    """What `gridwatch samples build` makes, on ``store``: the city, demo accounts, history."""
    locator = load_city(store, city_dir)
    config = CaseConfig(secret=HISTORY_SECRET)
    with store.transaction() as session:
        accounts = create_demo_accounts(session, locator, HISTORY_SECRET, as_of)
        reporter = demo_reporter_id(session, HISTORY_SECRET)
    with store.engine.begin() as conn:
        counts, checkins, written = load_sample_history(
            conn,
            locator,
            config,
            sample_reports(city_dir),
            as_of=as_of,
            scale=SAMPLE_SCALE,
            seed=7,
            demo_reporter=reporter,
        )
    return HistoryCity(store, written, counts, checkins, accounts, config)


@pytest.fixture(scope="session", params=BACKENDS)
def history_city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_city_dir: Path
) -> HistoryCity:
    """The small sample city with its year of history, built once per session and backend;
    tests must not change it (post cases on a store of their own)."""
    store = make_store(request.param, tmp_path_factory.mktemp("history_city"), request)
    return build_history_city(store, sample_city_dir)
