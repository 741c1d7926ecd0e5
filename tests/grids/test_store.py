"""The store: migrations and geometry columns behave the same on both backends."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import event, inspect, select, text

from grids.city.models import Unit
from grids.db import (
    current_revision,
    head_revision,
    make_engine,
    session_factory,
    transaction,
    upgrade_schema,
)
from tests.conftest import Store


def test_migrations_create_the_schema_and_are_idempotent(store: Store) -> None:
    assert current_revision(store.engine) == head_revision()
    assert upgrade_schema(store.engine) == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "units",
        "departments",
        "categories",
        "people",
        "assignments",
        "roster_entries",
        "live_events",
        "case_messages",
    } <= tables


def test_geometry_round_trips_exactly(store: Store) -> None:
    outer = [(113.70, 23.00), (113.80, 23.00), (113.80, 23.10), (113.70, 23.10), (113.70, 23.00)]
    hole = [(113.74, 23.04), (113.76, 23.04), (113.76, 23.06), (113.74, 23.06), (113.74, 23.04)]
    geom = shapely.MultiPolygon(
        [shapely.Polygon(outer, [hole]), shapely.box(113.9, 23.0, 113.95, 23.05)]
    )
    with store.transaction() as session:
        session.add(Unit(code="X", name="测试", level="city", geom=geom))
    with store.sessions() as session:
        loaded = session.scalar(select(Unit.geom).where(Unit.code == "X"))
    assert shapely.equals_exact(loaded, geom, tolerance=0)


def test_postgis_has_real_geometry_columns_with_a_gist_index(store: Store) -> None:
    if store.backend != "postgis":
        return
    with store.engine.connect() as conn:
        column = conn.execute(
            text(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_name = 'units' AND f_table_schema = current_schema()"
            )
        ).one()
        index = conn.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'units' "
                "AND schemaname = current_schema() AND indexname = 'ix_units_geom'"
            )
        ).scalar()
        conn.execute(
            text(
                "INSERT INTO units (code, name, level, geom) VALUES ('C', 'c', 'city', "
                "ST_Multi(ST_MakeEnvelope(113.7, 23.0, 113.8, 23.1, 4326)))"
            )
        )
        covered = conn.execute(
            text(
                "SELECT code FROM units WHERE ST_Covers(geom, ST_SetSRID(ST_Point(113.75, 23.05), 4326))"
            )
        ).scalar()
    assert tuple(column) == ("MULTIPOLYGON", 4326)
    assert "USING gist (geom)" in index
    assert covered == "C"


def test_sqlite_writers_of_one_process_take_turns_and_never_see_the_lock(tmp_path: Path) -> None:
    """32 threads writing at once through ``transaction``, with SQLite told not to wait at
    all for its lock: every write lands, none fails with "database is locked" (the
    process's writers queue on one lock instead of racing for SQLite's)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")

    @event.listens_for(engine, "connect")
    def _no_waiting(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (i INTEGER)"))
    sessions = session_factory(engine)

    def write(i: int) -> None:
        with transaction(sessions) as session:
            session.execute(text("INSERT INTO t VALUES (:i)"), {"i": i})
            time.sleep(0.005)  # a transaction that takes a moment, so the writers overlap

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(write, range(32)))  # re-raises the first "database is locked"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 32
    engine.dispose()
