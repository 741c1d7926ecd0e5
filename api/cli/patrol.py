"""gridwatch patrol plan: route plans through hot spots and must-visit points.

A patrol leader's own stops plan on their own: with ``--candidates`` (and
optionally ``--must``) no store is needed and nothing else is added. The
store is read only for what is asked of it: the hot spots when there are no
``--candidates``, the must-visit points of a unit with ``--must-from-unit``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import (
    Decimal,
    Sep,
    command_group,
    console,
    fail,
    load_locator,
    read_point_file,
    reported_errors,
    settings,
    store_session,
    write_map_page,
)

if TYPE_CHECKING:
    from geo.patrol.plan import Candidate, MustVisit, Plan
    from geo.points import PointTable
    from grids.patrols.planning import HotCells

app = command_group("Patrols: route plans and patrol points.")
OUTPUTS = (".json", ".geojson", ".gpx", ".html")


def _lat_lon(text: str, option: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        fail(f"{option} {text!r} must be LAT,LON in degrees, e.g. 23.02,113.75")
    return lat, lon


def _column(table: PointTable, name: str, option: str, path: Path) -> list[object]:
    columns = [str(c) for c in table.frame.columns]
    if name not in columns:
        fail(f"{option} {path}: no column {name!r}; it has {', '.join(columns) or 'none'}")
    return list(table.frame[name])


def _names(table: PointTable, ids: list[object]) -> list[str | None]:
    """The optional ``name`` column (empty cells: no name)."""
    import pandas as pd

    if "name" not in table.frame.columns:
        return [None] * len(ids)
    return [None if pd.isna(v) or str(v) == "" else str(v) for v in table.frame["name"]]


def _read_candidates(path: Path, crs: str, sep: str | None, decimal: str | None) -> list[Candidate]:
    from geo.patrol.plan import Candidate

    table = read_point_file(path, crs=crs, sep=sep, decimal=decimal)
    ids = _column(table, "id", "--candidates", path)
    prizes = _column(table, "prize", "--candidates", path)
    bad = [n for n, p in enumerate(prizes, start=1) if not _is_number(p)]
    if bad:
        fail(f"--candidates {path}: row {bad[0]} has no numeric prize ({prizes[bad[0] - 1]!r})")
    return [
        Candidate(str(i), float(lat), float(lon), float(str(prize)), name)
        for i, lat, lon, prize, name in zip(
            ids, table.lat, table.lon, prizes, _names(table, ids), strict=True
        )
    ]


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _read_must(path: Path, crs: str, sep: str | None, decimal: str | None) -> list[MustVisit]:
    from geo.patrol.plan import MustVisit

    table = read_point_file(path, crs=crs, sep=sep, decimal=decimal, allow_empty=True)
    if len(table) == 0:
        return []
    ids = _column(table, "id", "--must", path)
    names = _names(table, ids)
    return [
        MustVisit(str(i), name if name is not None else str(i), float(lat), float(lon))
        for i, name, lat, lon in zip(ids, names, table.lat, table.lon, strict=True)
    ]


def _shift_start(text: str | None) -> dt.datetime:
    if text is None:
        now = dt.datetime.now().astimezone()
        return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    try:
        begins = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"--shift-start {text!r} is not an ISO time, e.g. 2026-11-23T19:00:00+08:00")
    if begins.tzinfo is None:
        fail("--shift-start needs a time zone offset, e.g. 2026-11-23T19:00:00+08:00")
    return begins


@app.command("plan")
def plan(
    out: Annotated[
        Path, typer.Option(help="plan.json, .geojson, .gpx (for phones) or .html (a map)")
    ],
    start: Annotated[str, typer.Option(help="Where the teams start and end: LAT,LON")],
    candidates: Annotated[
        Path | None,
        typer.Option(
            help="Stops: CSV/Parquet/GeoJSON with id, lat, lon, prize and optionally name "
            "(default: the store's hot spots of --unit)"
        ),
    ] = None,
    must: Annotated[
        Path | None,
        typer.Option(help="Must-visit points: id, name, lat, lon (an empty file: none)"),
    ] = None,
    must_from_unit: Annotated[
        str | None,
        typer.Option(help="Also the store's must-visit points of this town (or city) code"),
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
        str | None, typer.Option(help="Town code of the hot spots (without --candidates)")
    ] = None,
    res: Annotated[int, typer.Option(help="H3 resolution of the hot-spot cells")] = 9,
    crs: Annotated[
        str,
        typer.Option(
            help="Datum of --candidates, --must and --start, and of the JSON and GPX written: "
            "wgs84, gcj02 (Amap, WeChat) or bd09 (Baidu); GeoJSON stays WGS-84"
        ),
    ] = "wgs84",
    sep: Sep = None,
    decimal: Decimal = None,
    time_limit: Annotated[float, typer.Option(help="Solver seconds")] = 10,
) -> None:
    """Plan patrol routes: the most prize within each shift, must-visit points first.

    With --candidates (and --must) no store is needed and only those stops are
    planned; the store gives the hot spots without --candidates and must-visit
    points with --must-from-unit.

    Example: gridwatch patrol plan --candidates hot.csv --must points.csv --teams 3
    --start 23.02,113.75 --shift-minutes 240 --dwell-minutes 12 --speed-kmh 15 --detour 1.3
    --crs gcj02 --out plan.gpx
    """
    from rich.progress import Progress

    from geo.crs import to_wgs84
    from geo.patrol.plan import Team, plan_routes

    if out.suffix.lower() not in OUTPUTS:
        fail(f"--out {out}: write one of {', '.join(OUTPUTS)}")
    begins = _shift_start(shift_start)
    with reported_errors():
        lat, lon = (float(v) for v in to_wgs84(*_lat_lon(start, "--start"), crs))
        stops = _read_candidates(candidates, crs, sep, decimal) if candidates else []
        must_points = _read_must(must, crs, sep, decimal) if must else []
        hot = None
        if candidates is None or must_from_unit is not None:
            hot, hot_stops, store_must = _from_store(candidates is None, must_from_unit, unit, res)
            if candidates is None:
                stops = hot_stops
            must_points += store_must
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
        _write_plan(result, out, crs, hot.table if hot is not None else None)
    console.print(
        f"{sum(len(t.stops) for t in result.teams)} stops, total prize {result.total_prize:.2f}, "
        f"written to {out}"
    )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def _from_store(
    want_hot: bool, must_unit: str | None, unit: str | None, res: int
) -> tuple[HotCells | None, list[Candidate], list[MustVisit]]:
    """What the store is asked for: hot spots as stops, a unit's must-visit points."""
    from grids.analytics.hotspots import Selection
    from grids.patrols.planning import candidates_from, hot_cells, must_visit_points

    config = settings()
    locator = load_locator(config)
    hot: HotCells | None = None
    stops: list[Candidate] = []
    must_points: list[MustVisit] = []
    with store_session(config) as session:
        if want_hot:
            hot = hot_cells(session, locator, Selection(unit=unit), res=res)
            stops = candidates_from(hot)
        if must_unit is not None:
            must_points = must_visit_points(session, locator, must_unit)
    return hot, stops, must_points


def _write_plan(result: Plan, out: Path, crs: str, hotspots: object) -> None:
    from geo.patrol.formats import plan_to_geojson, plan_to_gpx, plan_to_json
    from geo.patrol.maps import plan_map

    suffix = out.suffix.lower()
    if suffix == ".gpx":
        out.write_text(plan_to_gpx(result, crs=crs), encoding="utf-8")
    elif suffix == ".geojson":
        out.write_text(json.dumps(plan_to_geojson(result), ensure_ascii=False), encoding="utf-8")
    elif suffix == ".html":
        write_map_page(out, lambda options: plan_map(result, hotspots=hotspots, options=options))
    else:
        text = json.dumps(plan_to_json(result, crs=crs), ensure_ascii=False, indent=1)
        out.write_text(text, encoding="utf-8")


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
    from grids.patrols.service import import_points

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
