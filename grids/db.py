"""The store: engines for both backends, the geometry column type, schema upgrades.

Two backends run the same models and code: an embedded SQLite file (the
default, no server and no system library) and PostgreSQL + PostGIS for
production. Only the geometry column differs, and only inside
:class:`GeometryType`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import shapely
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    LargeBinary,
    String,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Mapper, Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from grids.errors import InvalidInput, StoreError, StoreNotInitialised
from grids.limits import check_text, nul_in

MIGRATIONS = Path(__file__).parent / "migrations"

STORE_UNREACHABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
"""What the store raises while it cannot be used right now, on either backend: the server is
down or restarting, a connection was cut, the pool is exhausted, SQLite's file is locked.
The request may be retried as it is; nothing of it was committed."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class GeometryType(TypeDecorator[Any]):
    """A shapely geometry: PostGIS ``geometry(kind, 4326)`` on PostgreSQL, WKB elsewhere.

    QGIS and spatial SQL work on the production tables, while SQLite needs
    no extension at all. The GiST index is created by the migration (on
    PostgreSQL only), not by GeoAlchemy2's table events, which would put a
    useless b-tree on the WKB blobs of SQLite.
    """

    impl = LargeBinary
    cache_ok = True
    spatial_index = False
    use_N_D_index = False

    def __init__(self, kind: str = "GEOMETRY") -> None:
        super().__init__()
        self.kind = kind

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        if dialect is None:  # GeoAlchemy2's events ask before a dialect is known
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Geometry(self.kind, srid=4326, spatial_index=False))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return f"SRID=4326;{shapely.to_wkt(value, rounding_precision=-1)}"
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return shapely.from_wkb(bytes(value.data))
        if isinstance(value, str):
            return shapely.from_wkb(bytes.fromhex(value))
        return shapely.from_wkb(bytes(value))


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on both backends (SQLite returns naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def make_engine(url: str) -> Engine:
    """An engine for either backend, with SQLite tuned for a service (WAL, foreign keys)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not database or database == ":memory:"
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if in_memory else {"pool_size": 10, "max_overflow": 30}),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions begin below, not in pysqlite
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A write transaction takes the lock at its start: a deferred one that reads and
            # then writes fails at once (SQLITE_BUSY) when another writer got in between,
            # whereas BEGIN IMMEDIATE waits its turn (up to the 30 s timeout). Reads stay
            # deferred so they never wait on, or hold up, a writer.
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise StoreError(
        f"unsupported database URL {parsed.render_as_string()!r}: "
        "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the API returns them), and
    that refuse a row breaking the store's limits (:func:`check_rows`) before it is sent."""
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "before_flush", check_rows)
    return factory


def check_rows(session: Session, _context: Any = None, _instances: Any = None) -> None:
    """Refuse text longer than its column or holding a NUL character, in every new or
    changed row: PostgreSQL would fail on either, SQLite would store it silently, so both
    backends answer the same :class:`InvalidInput` that names the field."""
    for row in (*session.new, *session.dirty):
        for key, length, is_json in _text_columns(inspect(row).mapper):
            value = getattr(row, key, None)
            if value is None:
                continue
            name = f"{type(row).__name__.lower()} {key}"
            if is_json:
                if nul_in(value):
                    raise InvalidInput(f"{name} contains a NUL character (\\u0000); remove it")
            elif isinstance(value, str):
                check_text(value, name, length)


_TEXT_COLUMNS: dict[Mapper[Any], list[tuple[str, int | None, bool]]] = {}


def _text_columns(mapper: Mapper[Any]) -> list[tuple[str, int | None, bool]]:
    """(attribute, maximum length or None, JSON?) of a mapper's text and JSON columns."""
    if mapper not in _TEXT_COLUMNS:
        columns: list[tuple[str, int | None, bool]] = []
        for attr in mapper.column_attrs:
            kind = attr.columns[0].type
            if isinstance(kind, JSON):
                columns.append((attr.key, None, True))
            elif isinstance(kind, String):
                columns.append((attr.key, kind.length, False))
        _TEXT_COLUMNS[mapper] = columns
    return _TEXT_COLUMNS[mapper]


class TurnLock:
    """A lock its waiters get in the order they asked for it.

    ``threading.Lock`` wakes its waiters in no order and lets the thread that releases it
    take it again at once: under 32 concurrent writers some waited seconds while others
    went round again. Here the holder hands the lock to the longest waiter.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def __enter__(self) -> TurnLock:
        with self._guard:
            if not self._held:
                self._held = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder before us, which hands the lock over
        return self

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by the next writer
            else:
                self._held = False


_WRITERS: dict[str, TurnLock] = {}
_WRITERS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """What a write transaction holds inside this process: on SQLite, one lock per database
    file, so the process's writers take turns in order (:class:`TurnLock`) instead of
    busy-waiting on SQLite's lock (whose retries back off for up to 100 ms each and starve
    some writers for seconds); PostgreSQL takes row locks itself, so nothing there."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, TurnLock())


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that writes: committed when the block ends, rolled back on any error.

    On SQLite it holds the write lock from its first statement (see ``make_engine``),
    after its turn among the process's writers (:func:`write_lock`).
    """
    engine = factory.kw["bind"]
    with write_lock(engine), factory() as session, session.begin():
        session.connection(execution_options={"sqlite_immediate": True})
        yield session


def alembic_config(engine: Engine) -> Config:
    """Alembic configured in code, so migrations ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision."""
    command.upgrade(alembic_config(engine), "head")
    return current_revision(engine) or "base"


def head_revision() -> str:
    """The newest migration this code ships."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def shown_url(url: str) -> str:
    """The database URL as messages show it: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def check_schema(url: str) -> None:
    """Refuse a store that does not hold this gridwatch's schema, creating nothing.

    The one rule for every command and for the service: only ``gridwatch init``
    creates or upgrades the schema; anything else on a store that was never
    initialised (or is at an older migration) raises :class:`StoreNotInitialised`
    saying so. A SQLite file that does not exist is not created.
    """
    parsed = make_url(url)
    database = parsed.database
    on_disk = parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
    if on_disk and not Path(str(database)).exists():
        raise StoreNotInitialised(
            f"the store {shown_url(url)} is not initialised (no database file): {_INIT}"
        )
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open the store {shown_url(url)}: {exc.orig}") from exc
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        raise StoreNotInitialised(f"the store {shown_url(url)} is not initialised: {_INIT}")
    if revision != head:
        raise StoreNotInitialised(
            f"the store {shown_url(url)} is at migration {revision}, this gridwatch needs "
            f"{head}: run `gridwatch init` to upgrade it (a store newer than this gridwatch "
            "needs a newer gridwatch)"
        )


_INIT = "run `gridwatch init` first (GRIDWATCH_DATABASE_URL chooses the database)"
