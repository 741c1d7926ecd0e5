"""What the CLI commands share: settings, a store session, turning errors into messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from api.settings import Settings
from geo.errors import GeoInputError
from grids.db import make_engine, session_factory, transaction, upgrade_schema
from grids.errors import GridwatchError

console = Console()
errors = Console(stderr=True)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        fail(f"bad configuration: {exc}")


def fail(message: str) -> NoReturn:
    """Print an error the user can act on and exit with status 2 (never a traceback)."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Domain and input errors become one line on stderr and exit status 2."""
    try:
        yield
    except (GridwatchError, GeoInputError) as exc:
        fail(str(exc))


@contextmanager
def store_session(config: Settings | None = None) -> Iterator[Session]:
    """A transaction on the configured store, with the schema brought up to date first."""
    config = config or settings()
    engine = make_engine(config.database_url)
    try:
        upgrade_schema(engine)
        with reported_errors(), transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
