"""gridwatch patrol plan: route plans through hot spots and must-visit points."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from api.cli.common import (
    console,
    fail,
    load_locator,
    reported_errors,
    settings,
    store_session,
    write_map_page,
)
from geo.patrol.formats import plan_to_geojson, plan_to_gpx, plan_to_json
from geo.patrol.maps import plan_map
from geo.patrol.plan import Candidate, MustVisit, Team, plan_routes
from geo.points import read_points
from grids.analytics.hotspots import Selection
from grids.patrols.planning import candidates_from, hot_cells, must_visit_points
from grids.patrols.service import import_points

app = typer.Typer(help="Patrols: route plans.", no_args_is_help=True)
OUTPUTS = (".json", ".geojson", ".gpx", ".html")


def _lat_lon(text: str, option: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"{option} {text!r} must be LAT,LON in degrees, e.g. 23.02,113.75")
    return lat, lon


def _column(frame: object, name: str, path: Path) -> list:
    columns = list(getattr(frame, "columns", []))
    if name not in columns:
        fail(f"{path}: no column {name!r}; it has {columns}")
    return list(frame[name])  # type: ignore[index]


@app.command("plan")
def plan(
    out: Annotated[
        Path, typer.Option(help="plan.json, .geojson, .gpx (for phones) or .html (a map)")
    ],
    start: Annotated[str, typer.Option(help="Where the teams start and end: LAT,LON")],
    candidates: Annotated[
        Path | None,
        typer.Option(
            help="Stops: CSV/Parquet/GeoJSON with id, lat, lon, prize (default: hot spots)"
        ),
    ] = None,
    must: Annotated[
        Path | None,
        typer.Option(help="Must-visit points: id, name, lat, lon (default: the unit's)"),
    ] = None,
    teams: Annotated[int, typer.Option(min=1, max=20, help="How many teams")] = 1,
    shift_start: Annotated[
        str | None, typer.Option(help="ISO time with offset (default: next full hour)")
    ] = None,
    shift_minutes: Annotated[float, typer.Option(min=1, help="Length of the shift")] = 240,
    dwell_minutes: Annotated[float, typer.Option(help="Minutes at each stop (Koper: 10-15)")] = 12,
    speed_kmh: Annotated[float, typer.Option(help="On foot about 5, bicycle 15")] = 15,
    detour: Annotated[float, typer.Option(help="Street distance over straight distance")] = 1.3,
    seed: Annotated[
        int | None, typer.Option(help="Vary the plan so patrols are not predictable")
    ] = None,
    unit: Annotated[
        str | None, typer.Option(help="Town code for hot spots and must-visit points")
    ] = None,
    res: Annotated[int, typer.Option(help="H3 resolution of the hot-spot cells")] = 9,
    time_limit: Annotated[float, typer.Option(help="Solver seconds")] = 10,
) -> None:
    """Plan patrol routes: the most prize within each shift, must-visit points first.

    Example: gridwatch patrol plan --candidates hot.csv --must points.csv --teams 3
    --start 23.02,113.75 --shift-minutes 240 --dwell-minutes 12 --speed-kmh 15 --detour 1.3
    --out plan.gpx
    """
    if out.suffix.lower() not in OUTPUTS:
        fail(f"--out {out}: write one of {', '.join(OUTPUTS)}")
    lat, lon = _lat_lon(start, "--start")
    begins = (
        dt.datetime.fromisoformat(shift_start)
        if shift_start
        else dt.datetime.now().astimezone().replace(minute=0, second=0, microsecond=0)
        + dt.timedelta(hours=1)
    )
    if begins.tzinfo is None:
        fail("--shift-start needs a time zone offset, e.g. 2026-11-23T19:00:00+08:00")
    hot = None
    with reported_errors():
        if candidates is not None:
            table = read_points(candidates)
            stops = [
                Candidate(str(i), float(a), float(b), float(p))
                for i, a, b, p in zip(
                    _column(table.frame, "id", candidates),
                    table.lat,
                    table.lon,
                    _column(table.frame, "prize", candidates),
                    strict=True,
                )
            ]
        must_points: list[MustVisit] = []
        if must is not None:
            table = read_points(must)
            must_points = [
                MustVisit(str(i), str(n), float(a), float(b))
                for i, n, a, b in zip(
                    _column(table.frame, "id", must),
                    _column(table.frame, "name", must),
                    table.lat,
                    table.lon,
                    strict=True,
                )
            ]
        if candidates is None or must is None:
            config = settings()
            locator = load_locator(config)
            with store_session(config) as session:
                if candidates is None:
                    hot = hot_cells(
                        session,
                        locator,
                        Selection(unit=unit),
                        samples_dir=config.samples_dir,
                        res=res,
                    )
                    stops = candidates_from(hot)
                if must is None:
                    must_points = must_visit_points(session, locator, unit)
        crews = [Team(f"T{n}", lat, lon, begins, shift_minutes) for n in range(1, teams + 1)]
        with Progress(console=console, transient=True) as progress:
            progress.add_task(f"planning {len(stops)} stops for {teams} team(s)", total=None)
            result = plan_routes(
                stops,
                must_points,
                crews,
                dwell_minutes=dwell_minutes,
                speed_kmh=speed_kmh,
                detour=detour,
                seed=seed,
                time_limit_s=time_limit,
            )
    suffix = out.suffix.lower()
    if suffix == ".gpx":
        out.write_text(plan_to_gpx(result), encoding="utf-8")
    elif suffix == ".geojson":
        out.write_text(json.dumps(plan_to_geojson(result), ensure_ascii=False), encoding="utf-8")
    elif suffix == ".html":
        hotspots = hot.table if hot is not None else None
        write_map_page(out, lambda options: plan_map(result, hotspots=hotspots, options=options))
    else:
        out.write_text(
            json.dumps(plan_to_json(result), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    console.print(
        f"{sum(len(t.stops) for t in result.teams)} stops, total prize {result.total_prize:.2f}, "
        f"written to {out}"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@app.command("import-points")
def import_points_command(
    path: Annotated[Path, typer.Argument(help="Points from any file GDAL reads")],
    layer: Annotated[str | None, typer.Option(help="Layer of a GeoPackage")] = None,
    crs: Annotated[str, typer.Option(help="wgs84, gcj02 or bd09")] = "wgs84",
    code_field: Annotated[str, typer.Option(help="Attribute with the point's code")] = "code",
    name_field: Annotated[str, typer.Option(help="Attribute with its name")] = "name",
    kind_field: Annotated[
        str, typer.Option(help="key_point, joint_defence_point, patrol_station or security_post")
    ] = "kind",
    must_field: Annotated[str, typer.Option(help="Attribute: visit every shift (true/false)")] = (
        "must_visit"
    ),
) -> None:
    """Import patrol points (upsert by code); each is located in its grid. All or nothing.

    Example: gridwatch patrol import-points points.geojson --crs gcj02 --kind-field TYPE
    """
    config = settings()
    locator = load_locator(config)
    with store_session(config) as session:
        count = import_points(
            session,
            locator,
            path,
            layer=layer,
            crs=crs,
            code_field=code_field,
            name_field=name_field,
            kind_field=kind_field,
            must_field=must_field,
        )
    console.print(f"{count} patrol points imported from {path}")
