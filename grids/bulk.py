"""Bulk writes for loads of many rows: COPY on PostgreSQL, executemany on SQLite.

Values are converted by the columns' own types (the UTC datetimes, JSON and
geometry of the models), so rows written here read back exactly like rows the
ORM wrote. :func:`indexes_dropped` drops a table's indexes for a load into an
empty table and builds them again afterwards, which is faster on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Connection, Table, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from grids.db import GeometryType

Row = Sequence[Any]


class RawJson(str):
    """A value of a JSON column that is JSON text already (serialised once, written twice)."""


def _json(value: Any) -> str:
    return value if isinstance(value, RawJson) else json.dumps(value, ensure_ascii=False)


def _converters(table: Table, columns: Sequence[str], dialect: Dialect) -> list[Callable | None]:
    """One function per column turning a Python value into what the driver takes."""
    out: list[Callable | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, JSON):
            out.append(_json)
        elif dialect.name == "postgresql":
            if isinstance(kind, GeometryType):
                out.append(lambda v, k=kind, d=dialect: k.process_bind_param(v, d))
            else:
                out.append(None)  # psycopg adapts datetimes, numbers and strings itself
        else:
            out.append(kind._cached_bind_processor(dialect))  # type: ignore[attr-defined]
    return out


def _converted(rows: Iterable[Row], converters: list[Callable | None]) -> Iterator[tuple]:
    pairs = list(enumerate(converters))
    for row in rows:
        values = list(row)
        for i, convert in pairs:
            if convert is not None and values[i] is not None:
                values[i] = convert(values[i])
        yield tuple(values)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Write rows (values in ``columns`` order) into ``table``; returns how many."""
    dialect = conn.dialect
    converted = _converted(rows, _converters(table, columns, dialect))
    names = ", ".join(columns)
    count = 0
    if dialect.name == "postgresql":
        raw: Any = conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for values in converted:
                copy.write_row(values)
                count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    batch: list[tuple] = []
    for values in converted:
        batch.append(values)
        if len(batch) == 20_000:
            conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
            count += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)  # type: ignore[arg-type]
        count += len(batch)
    return count


def next_id(conn: Connection, table: Table) -> int:
    """The first id after the table's rows (ids of a bulk load are given, not returned)."""
    return int(conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


def fix_sequence(conn: Connection, table: Table) -> None:
    """After rows with given ids, the id sequence of PostgreSQL continues after them."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
        )


@contextmanager
def indexes_dropped(conn: Connection, tables: Sequence[Table]) -> Iterator[None]:
    """Drop the models' indexes of empty tables for a load and build them again after it.

    On PostgreSQL a role that may (a superuser, as ``pg_restore --disable-triggers``) also
    skips the per-row foreign-key triggers for the load: the rows are made consistent.
    """
    empty = [t for t in tables if conn.scalar(select(t.c.id).limit(1)) is None]
    dropped = [index for t in empty for index in t.indexes]
    for index in dropped:
        index.drop(conn)
    replica = False
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin_nested():
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            replica = True
        except DBAPIError:
            replica = False
    yield
    if replica:
        conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
    for index in dropped:
        index.create(conn)
