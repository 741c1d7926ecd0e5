"""Rental buildings and their heads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import command_group, console, fail, load_locator, settings, store_session

app = command_group("Rental buildings (楼栋/出租屋) and their building heads.")


@app.command("import")
def import_buildings_command(
    path: Annotated[Path, typer.Argument(help="CSV: code,name,address,units,lat,lon,head")],
) -> None:
    """Import buildings (upsert by code), each located in its grid; ``head`` is the
    building head's volunteer code (may be empty). All or nothing.

    Example: gridwatch buildings import buildings.csv
    """
    import datetime as dt
    from zoneinfo import ZoneInfo

    from grids.community.buildings import import_buildings

    config = settings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: {exc}")
    locator = load_locator(config)
    today = dt.datetime.now(ZoneInfo(config.timezone)).date()
    with store_session(config) as session:
        count = import_buildings(session, locator, text, today=today)
    console.print(f"{count} buildings imported from {path}")
