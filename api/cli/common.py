"""What the CLI commands share: settings, a store session, turning errors into messages."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import folium
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from api.assets import STATIC_DIR
from api.basemap import configured_basemap
from api.settings import Settings
from geo.errors import GeoInputError
from geo.maps.pages import MapOptions, render_html
from grids.city.locator import GridLocator
from grids.db import make_engine, session_factory, transaction, upgrade_schema
from grids.errors import GridwatchError

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


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


def load_locator(
    config: Settings, *, res: int | None = None, snap_meters: float | None = None
) -> GridLocator:
    """The store's grids and directory, with the saved cell map built or reused."""
    engine = make_engine(config.database_url)
    try:
        with reported_errors(), session_factory(engine)() as session:
            return GridLocator.from_store(
                session,
                cache_path=config.cellmap_path,
                timezone=config.timezone,
                res=config.cell_resolution if res is None else res,
                snap_meters=config.snap_meters if snap_meters is None else snap_meters,
            )
    finally:
        engine.dispose()


def write_map_page(
    out: Path,
    build: Callable[[MapOptions], folium.Map],
    *,
    basemap: str = "configured",
    lang: str = "zh",
) -> None:
    """A map page that works from disk with no internet: its scripts are copied beside it.

    ``basemap``: ``configured`` draws the tile server of ``GRIDWATCH_BASEMAP_URL`` (a
    ``GRIDWATCH_BASEMAP_FILE`` is served by the service only, so a file gets none), or
    ``none``.
    """
    if basemap not in ("configured", "none"):
        raise GeoInputError(f"--basemap must be configured or none, got {basemap!r}")
    config = settings() if basemap == "configured" else None
    assets = out.with_name(f"{out.stem}_files")
    options = MapOptions(
        basemap=configured_basemap(config, None) if config is not None else None,
        lang=lang,
        vendor_prefix=f"{assets.name}/vendor",
    )
    html = render_html(build(options), allowed_prefix=f"{assets.name}/")
    shutil.copytree(STATIC_DIR / "vendor", assets / "vendor", dirs_exist_ok=True)
    out.write_text(html, encoding="utf-8")
