"""Opening a store for reading only, from a URL, a file path or ``GRIDWATCH_DATABASE_URL``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from grids.db import make_engine
from grids.errors import NotFound

#: The environment variables the service's settings read (``api.settings``).
URL_VARIABLE = "GRIDWATCH_DATABASE_URL"
TIMEZONE_VARIABLE = "GRIDWATCH_TIMEZONE"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def store_url(url_or_path: str | Path | None) -> str:
    """The SQLAlchemy URL of a store: a URL as given, a path as an SQLite file (which must
    exist), None as ``GRIDWATCH_DATABASE_URL``."""
    if url_or_path is None:
        configured = os.environ.get(URL_VARIABLE)
        if not configured:
            raise NotFound(
                f"no store given and {URL_VARIABLE} is not set; pass a URL such as "
                "sqlite:///var/gridwatch.db or postgresql://user@host/db, or a file path"
            )
        url_or_path = configured
    text = str(url_or_path)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise NotFound(f"no store at {path}")
    return f"sqlite:///{path}"


def read_only_engine(url: str) -> Engine:
    """An engine whose every connection refuses to write (SQLite ``query_only``,
    PostgreSQL read-only transactions)."""
    parsed = make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).is_file():
        raise NotFound(f"no store at {file}")
    engine = make_engine(url)
    statement = (
        "PRAGMA query_only=ON"
        if engine.dialect.name == "sqlite"
        else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()

    return engine


def city_timezone(timezone: str | None) -> str:
    """The given time zone, else ``GRIDWATCH_TIMEZONE``, else the service's default."""
    return timezone or os.environ.get(TIMEZONE_VARIABLE) or DEFAULT_TIMEZONE
