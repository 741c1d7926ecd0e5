"""What the CLI commands share: settings, the store, turning errors into one line.

``gridwatch --help`` must answer at once, so the CLI modules import only typer
and rich when they load; every command imports pandas, SQLAlchemy, folium and
the rest when it runs.

The store rule: only ``gridwatch init`` creates or upgrades the schema. Every
other command that needs the store checks it first (:func:`store_engine`) and,
on a store that was never initialised or is at an older migration, says
"run `gridwatch init`" with the database and exits with status 2, creating
nothing (no empty SQLite file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    import folium
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from api.settings import Settings
    from geo.maps.pages import MapOptions
    from geo.points import PointTable
    from grids.city.locator import GridLocator

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

Sep = Annotated[
    str | None, typer.Option(help="CSV field separator, e.g. ';' (default: read from the header)")
]
Decimal = Annotated[
    str | None,
    typer.Option(help="CSV decimal mark: '.' or ',' (default: a comma when the file has one)"),
]


def command_group(help: str) -> typer.Typer:
    """A group of subcommands. Help is click's plain text: typer's rich help would import
    markdown-it and pygments first (0.3 s before ``--help`` could answer)."""
    return typer.Typer(
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


def settings() -> Settings:
    """The environment's settings; a bad value is one line and exit status 2."""
    from pydantic import ValidationError

    from api.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"GRIDWATCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        fail(f"bad configuration: {problems}")


def fail(message: str) -> NoReturn:
    """Print an error the user can act on and exit with status 2 (never a traceback)."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code=2)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Domain and input errors become one line on stderr and exit status 2."""
    from geo.errors import GeoInputError
    from grids.errors import GridwatchError

    try:
        yield
    except (GridwatchError, GeoInputError) as exc:
        fail(str(exc))


@contextmanager
def store_engine(config: Settings | None = None) -> Iterator[Engine]:
    """The configured store, once it holds this gridwatch's schema (the rule above)."""
    from grids.db import check_schema, make_engine

    config = config or settings()
    with reported_errors():
        check_schema(config.database_url)
    engine = make_engine(config.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def store_session(config: Settings | None = None) -> Iterator[Session]:
    """One transaction on the configured store (checked first, see :func:`store_engine`)."""
    from grids.db import session_factory, transaction

    with (
        store_engine(config) as engine,
        reported_errors(),
        transaction(session_factory(engine)) as session,
    ):
        yield session


def load_locator(
    config: Settings, *, res: int | None = None, snap_meters: float | None = None
) -> GridLocator:
    """The store's grids and directory, with the saved cell map built or reused."""
    from grids.city.locator import GridLocator
    from grids.db import session_factory

    with store_engine(config) as engine, reported_errors(), session_factory(engine)() as session:
        return GridLocator.from_store(
            session,
            cache_path=config.cellmap_path,
            timezone=config.timezone,
            res=config.cell_resolution if res is None else res,
            snap_meters=config.snap_meters if snap_meters is None else snap_meters,
        )


def read_point_file(
    path: Path,
    *,
    lat_col: str | None = None,
    lon_col: str | None = None,
    crs: str = "wgs84",
    sep: str | None = None,
    decimal: str | None = None,
    allow_empty: bool = False,
) -> PointTable:
    """``geo.points.read_points`` with its errors naming this CLI's options (``--lat-col``);
    without ``lat_col``/``lon_col`` the command has no such options: columns lat and lon."""
    from geo.points import OptionNames, read_points

    names = OptionNames(
        lat_col="--lat-col" if lat_col is not None else None,
        lon_col="--lon-col" if lon_col is not None else None,
        sep="--sep",
        decimal="--decimal",
    )
    return read_points(
        path,
        lat_col=lat_col or "lat",
        lon_col=lon_col or "lon",
        crs=crs,
        sep=sep,
        decimal=decimal,
        allow_empty=allow_empty,
        names=names,
    )


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
    import shutil

    from api.assets import STATIC_DIR
    from api.basemap import configured_basemap
    from geo.errors import GeoInputError
    from geo.maps.pages import MapOptions, render_html

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
