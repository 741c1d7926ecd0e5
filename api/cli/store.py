"""Store commands: schema, units, taxonomy, people and rosters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import command_group, console, fail, reported_errors, settings, store_session

units_app = command_group("Administrative units: city, towns, communities, grids.")
taxonomy_app = command_group("Departments and report categories.")
people_app = command_group("Officers, grid chiefs and dispatchers.")
roster_app = command_group("Duty rosters: who is on duty for which grid when.")

FileArg = Annotated[Path, typer.Argument(help="The file to import", exists=False)]


def init() -> None:
    """Create the schema, or upgrade it to the newest migration.

    The only command that creates or upgrades the schema; every other command
    that needs the store asks for it to be run first.

    Example: GRIDWATCH_DATABASE_URL=postgresql://gridwatch@db/gridwatch gridwatch init
    """
    from grids.db import make_engine, shown_url, upgrade_schema

    config = settings()
    with reported_errors():
        url = shown_url(config.database_url)
        engine = make_engine(config.database_url)
    try:
        revision = upgrade_schema(engine)
    except Exception as exc:  # connection refused, missing PostGIS, permissions
        fail(f"cannot prepare the store {url}: {exc}")
    finally:
        engine.dispose()
    console.print(f"schema at revision {revision} in {url}")


@units_app.command("city")
def add_city(
    code: Annotated[str, typer.Option(help="Code of the city, e.g. DG")],
    name: Annotated[str, typer.Option(help="Name in Chinese, e.g. 东莞市")],
    name_en: Annotated[str | None, typer.Option(help="Name in English")] = None,
) -> None:
    """Create the city at the top of the hierarchy.

    Example: gridwatch units city --code DG --name 东莞市 --name-en Dongguan
    """
    from grids.city.hierarchy import ensure_city

    with store_session() as session:
        ensure_city(session, code, name, name_en)
    console.print(f"city {code} ready")


@units_app.command("import")
def units_import(
    path: FileArg,
    level: Annotated[str, typer.Option(help="town, community or grid")],
    code_field: Annotated[str, typer.Option(help="Attribute holding the unit code")] = "code",
    name_field: Annotated[str, typer.Option(help="Attribute holding the Chinese name")] = "name",
    name_en_field: Annotated[
        str, typer.Option(help="Attribute holding the English name")
    ] = "name_en",
    parent_field: Annotated[
        str, typer.Option(help="Attribute holding the parent's code")
    ] = "parent_code",
    parent: Annotated[str | None, typer.Option(help="Parent code for every feature")] = None,
    layer: Annotated[
        str | None, typer.Option(help="Layer of a multi-layer file (GeoPackage)")
    ] = None,
    crs: Annotated[str, typer.Option(help="wgs84, gcj02 or bd09 (geographic files)")] = "wgs84",
    source_epsg: Annotated[
        int | None, typer.Option(help="EPSG code of a projected file that does not declare one")
    ] = None,
    tolerance_m2: Annotated[float, typer.Option(help="Ignore overlaps and gaps below this")] = 1.0,
    report: Annotated[
        Path | None, typer.Option(help="Write the validation report (JSON) here")
    ] = None,
) -> None:
    """Import polygons from any file GDAL reads (GeoJSON, GeoPackage, Shapefile, KML).

    Example: gridwatch units import grids.gpkg --level grid --layer grids --code-field GRID_ID
    --name-field GRID_NAME --parent-field COMM_ID --crs gcj02 --report grids-report.json
    """
    from grids.city.hierarchy import FieldMap, import_units

    fields = FieldMap(code=code_field, name=name_field, name_en=name_en_field, parent=parent_field)
    with store_session() as session:
        result = import_units(
            session,
            path,
            level=level,
            fields=fields,
            parent_code=parent,
            layer=layer,
            crs=crs,
            source_epsg=source_epsg,
            tolerance_m2=tolerance_m2,
        )
    for line in result.summary():
        console.print(line)
    if report is not None:
        result.write(report)
        console.print(f"validation report written to {report}")


@taxonomy_app.command("load")
def taxonomy_load(path: FileArg) -> None:
    """Load departments and categories from a TOML file (upsert by code).

    Example: gridwatch taxonomy load data_samples/taxonomy.toml
    """
    from grids.city.taxonomy import load_taxonomy

    with store_session() as session:
        departments, categories = load_taxonomy(session, path)
    console.print(f"{departments} departments, {categories} categories loaded from {path}")


@people_app.command("import")
def people_import(path: FileArg) -> None:
    """Import people from CSV: code,name,phone,role,unit_code (role: officer, chief, dispatcher).

    Example: gridwatch people import people.csv
    """
    from grids.city.people import import_people

    with store_session() as session:
        people, assignments = import_people(session, path)
    console.print(f"{people} people with {assignments} assignments imported from {path}")


@roster_app.command("import")
def roster_import(path: FileArg) -> None:
    """Import rosters from CSV: person_code,unit_code,weekdays,start,end,valid_from,valid_until.

    Example: gridwatch roster import rosters.csv   (weekdays like 12345; times like 08:30)
    """
    from grids.city.people import import_rosters

    with store_session() as session:
        entries = import_rosters(session, path)
    console.print(f"{entries} roster entries imported from {path}")
