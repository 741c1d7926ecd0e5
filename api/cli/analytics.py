"""gridwatch hotspots / emerging / summary: the analytics from the command line.

``hotspots`` and ``emerging`` read a file of points (CSV, Parquet, GeoJSON,
GeoPackage) or, without one, the store (its cases, or the sample city's
reports when it has none in the window), and write every cell of the field
(zeros included) as CSV, Parquet or GeoJSON, or the map as HTML.
``summary`` writes the daily, weekly or monthly summary as HTML, JSON or CSV.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import shapely
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
from api.cli.route import _progress as progress_bar
from api.settings import Settings
from api.summary_report import render_summary_html, summary_csv
from geo import maps
from geo.aggregate import as_datetime64, complete_field, counts_per_cell, study_area_cells
from geo.emerging import emerging_hotspots
from geo.errors import GeoInputError
from geo.h3cells import grid_disks, latlng_to_cells
from geo.hotspots import hotspot_table
from geo.points import read_points, write_table
from geo.polygons import read_polygon_file
from grids import analytics
from grids.directory import Directory
from grids.summaries import parse_day, period_of, summarise

TABLE_OUTPUTS = (".csv", ".parquet", ".geojson", ".html")
SUMMARY_OUTPUTS = (".html", ".json", ".csv")
HOTSPOT_COLUMNS = ["cell", "count", "gi_z", "gi_p", "gi_p_fdr", "class"]
EMERGING_COLUMNS = [
    "cell",
    "count",
    "pattern",
    "label",
    "trend_z",
    "trend_p",
    "hot_bins",
    "cold_bins",
    "n_bins",
]

Points = Annotated[
    Path | None,
    typer.Argument(help="CSV, Parquet, GeoJSON or GeoPackage of points; omit to use the store"),
]
Out = Annotated[Path, typer.Option(help="Output: .csv, .parquet, .geojson or .html (the map)")]
Res = Annotated[int, typer.Option(help="H3 resolution of the cells (4-12)")]
K = Annotated[int, typer.Option(help="k-ring size of the neighbourhood: 1, 2 or 3")]
Since = Annotated[
    str | None, typer.Option(help="From (inclusive): YYYY-MM-DD (local midnight) or ISO time")
]
Until = Annotated[str | None, typer.Option(help="Until (exclusive), as --since")]
CategoryFilter = Annotated[str | None, typer.Option(help="Only reports of this category")]
LatCol = Annotated[str, typer.Option(help="Latitude column (CSV/Parquet)")]
LonCol = Annotated[str, typer.Option(help="Longitude column (CSV/Parquet)")]
Crs = Annotated[str, typer.Option(help="Datum of the points: wgs84, gcj02 or bd09")]
TimeCol = Annotated[
    str | None, typer.Option(help="Time column (ISO 8601; times without a zone are local)")
]
CategoryCol = Annotated[str, typer.Option(help="Category column, for --category")]
Grids = Annotated[
    Path | None,
    typer.Option(
        help="Polygons of the study area (any GDAL format); default: the report cells "
        "and their k-rings (file) or the store's grids"
    ),
]
Layer = Annotated[str | None, typer.Option(help="Layer of --grids (GeoPackage)")]
GridsCrs = Annotated[str, typer.Option(help="Datum of --grids: wgs84, gcj02 or bd09")]
UnitCode = Annotated[str | None, typer.Option(help="Store only: a town, community or grid code")]
Source = Annotated[
    str,
    typer.Option(
        help="Store only: auto (cases if any in the window, else the sample "
        "city's reports), cases or samples"
    ),
]
Basemap = Annotated[str, typer.Option(help="HTML only: osm, gcj02 or none")]
Lang = Annotated[str, typer.Option(help="HTML only: zh or en")]


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------


def _check_out(out: Path, allowed: tuple[str, ...]) -> None:
    if out.suffix.lower() not in allowed:
        fail(f"--out {out}: write one of {', '.join(allowed)}")
    if not out.parent.is_dir():
        fail(f"--out {out}: directory {out.parent} does not exist; create it first")


def _file_points(
    path: Path,
    config: Settings,
    *,
    lat_col: str,
    lon_col: str,
    crs: str,
    time_col: str | None,
    category_col: str,
    selection: analytics.Selection,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fine cells (res 12) and UTC times of the points of a file that pass the filters."""
    table = read_points(path, lat_col=lat_col, lon_col=lon_col, crs=crs)
    keep = np.ones(len(table), dtype=bool)
    times = None
    if time_col is not None:
        if time_col not in table.frame.columns:
            raise GeoInputError(
                f"--time-col {time_col!r} is not a column of {path.name}; "
                f"columns: {', '.join(map(str, table.frame.columns))}"
            )
        parsed = pd.to_datetime(table.frame[time_col], errors="coerce")
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0]) + 1
            raise GeoInputError(f"{path.name}: row {row} has no valid time in {time_col!r}")
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(config.timezone)
        times = as_datetime64(parsed)
    if selection.since is not None or selection.until is not None:
        if times is None:
            raise GeoInputError("--since/--until need --time-col, the column of the times")
        if selection.since is not None:
            keep &= times >= np.datetime64(selection.since.replace(tzinfo=None), "ns")
        if selection.until is not None:
            keep &= times < np.datetime64(selection.until.replace(tzinfo=None), "ns")
    if selection.category is not None:
        if category_col not in table.frame.columns:
            raise GeoInputError(f"--category needs the column {category_col!r} (--category-col)")
        keep &= table.frame[category_col].astype(str).to_numpy() == selection.category
    if not keep.any():
        raise GeoInputError(
            f"no point of {path.name} passes the filters (--since, --until, --category)"
        )
    cells = latlng_to_cells(table.lat[keep], table.lon[keep], analytics.RES_RANGE[1])
    return cells, (times[keep] if times is not None else None)


def _area_cells(
    grids: Path | None, layer: str | None, grids_crs: str, held: np.ndarray, res: int, k: int
) -> np.ndarray:
    """The study area's cells: the polygons of --grids, else the report cells and their k-rings."""
    if grids is None:
        return grid_disks(held, k)
    frame = read_polygon_file(grids, layer=layer, crs=grids_crs)
    polygons = shapely.get_parts(np.asarray(frame.geometry.values, dtype=object))
    polygons = polygons[shapely.get_type_id(polygons) == 3]
    if len(polygons) == 0:
        raise GeoInputError(f"{grids} has no polygons; --grids must be a polygon file")
    return study_area_cells(shapely.MultiPolygon(list(polygons)), res)


def _selection(
    config: Settings,
    since: str | None,
    until: str | None,
    category: str | None,
    unit: str | None = None,
    source: str = "auto",
) -> analytics.Selection:
    tz = config.timezone
    selection = analytics.Selection(
        analytics.parse_instant(since, tz, name="--since"),
        analytics.parse_instant(until, tz, name="--until"),
        category,
        unit,
        source,
    )
    if selection.source not in analytics.SOURCES:
        raise GeoInputError(f"--source must be one of {', '.join(analytics.SOURCES)}")
    return selection


def _from_store(
    config: Settings,
    selection: analytics.Selection,
    run: Callable[[Any, Any], analytics.Analysis],
    progress: Progress,
    task: Any,
) -> analytics.Analysis:
    progress.update(task, description="loading the store's grids")
    locator = load_locator(config)
    progress.update(task, description="computing")
    with store_session(config) as session:
        return run(session, locator)


# --------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------


def _write(
    kind: str,
    analysis: analytics.Analysis,
    out: Path,
    columns: list[str],
    basemap: str,
    lang: str,
) -> None:
    """The field as a table, GeoJSON, or the map (HTML with its scripts beside it)."""
    table = analysis.table
    suffix = out.suffix.lower()
    if suffix in (".csv", ".parquet"):
        write_table(table[columns], out)
    elif suffix == ".geojson":
        out.write_text(
            maps.cells_geojson(table["cell"], table[columns], meta=analysis.meta),
            encoding="utf-8",
        )
    else:
        notes = [f"{analysis.meta['reports']:,} reports · res {analysis.meta['res']}"]
        draw = maps.hotspot_map if kind == "hotspots" else maps.emerging_map
        write_map_page(
            out,
            lambda options: draw(table, options=options, notes=notes),
            basemap=basemap,
            lang=lang,
        )


def _report(kind: str, analysis: analytics.Analysis, out: Path) -> None:
    table = analysis.table
    if kind == "hotspots":
        hot = int((table["gi_bin"] > 0).sum())
        cold = int((table["gi_bin"] < 0).sum())
        detail = f"{hot} hot and {cold} cold cells"
    else:
        found = table.loc[table["pattern"] != "no_pattern", "pattern"].value_counts()
        detail = ", ".join(f"{n} {p}" for p, n in found.items()) or "no pattern anywhere"
    console.print(
        f"{len(table):,} cells ({analysis.meta['reports']:,} reports, "
        f"source {analysis.meta['source']}) written to {out}: {detail}"
    )


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------


def hotspots(
    points: Points = None,
    out: Out = Path("hotspots.csv"),
    res: Res = 9,
    k: K = 1,
    kernel: Annotated[
        str, typer.Option(help="uniform, triangular, quadratic, quartic, gaussian")
    ] = "uniform",
    fdr: Annotated[bool, typer.Option(help="Classes with FDR correction")] = True,
    since: Since = None,
    until: Until = None,
    category: CategoryFilter = None,
    lat_col: LatCol = "lat",
    lon_col: LonCol = "lon",
    crs: Crs = "wgs84",
    time_col: TimeCol = None,
    category_col: CategoryCol = "category",
    grids: Grids = None,
    layer: Layer = None,
    grids_crs: GridsCrs = "wgs84",
    unit: UnitCode = None,
    source: Source = "auto",
    basemap: Basemap = "osm",
    lang: Lang = "zh",
) -> None:
    """Getis-Ord Gi* hot spots: every cell of the field (zeros included) with
    cell, count, gi_z, gi_p, gi_p_fdr, class; or the map (.html).

    Example: gridwatch hotspots reports.csv --res 9 --k 1 --time-col occurred_at
    --since 2026-10-01 --grids city.gpkg --layer grids --out hotspots.geojson
    """
    config = settings()
    _check_out(out, TABLE_OUTPUTS)
    with reported_errors(), progress_bar() as progress:
        analytics.check_parameters(res=res, k=k, kernel=kernel)
        selection = _selection(config, since, until, category, unit, source)
        task = progress.add_task("reading points", total=4)
        if points is None:
            analysis = _from_store(
                config,
                selection,
                lambda session, locator: analytics.hotspots(
                    session,
                    locator,
                    selection,
                    samples_dir=config.samples_dir,
                    res=res,
                    k=k,
                    kernel=kernel,
                    fdr=fdr,
                ),
                progress,
                task,
            )
        else:
            cells, _ = _file_points(
                points,
                config,
                lat_col=lat_col,
                lon_col=lon_col,
                crs=crs,
                time_col=time_col,
                category_col=category_col,
                selection=selection,
            )
            progress.update(task, description="counting", advance=1)
            held, counts = counts_per_cell(cells, res)
            area = _area_cells(grids, layer, grids_crs, held, res, k)
            field, values = complete_field(area, held, counts)
            progress.update(task, description=f"Gi* on {len(field):,} cells", advance=1)
            table = hotspot_table(field, values, k=k, kernel=kernel, fdr=fdr)
            meta = {
                "source": str(points),
                "reports": len(cells),
                "res": res,
                "k": k,
                "kernel": kernel,
                "fdr": fdr,
                "cells": len(table),
            }
            analysis = analytics.Analysis(table, meta)
        progress.update(task, description=f"writing {out.name}", completed=3)
        _write("hotspots", analysis, out, HOTSPOT_COLUMNS, basemap, lang)
    _report("hotspots", analysis, out)


def emerging(
    points: Points = None,
    out: Out = Path("emerging.csv"),
    res: Res = 8,
    freq: Annotated[str, typer.Option(help="Time bins: day, week (ISO) or month")] = "week",
    k: K = 1,
    since: Since = None,
    until: Until = None,
    category: CategoryFilter = None,
    lat_col: LatCol = "lat",
    lon_col: LonCol = "lon",
    crs: Crs = "wgs84",
    time_col: TimeCol = None,
    category_col: CategoryCol = "category",
    grids: Grids = None,
    layer: Layer = None,
    grids_crs: GridsCrs = "wgs84",
    unit: UnitCode = None,
    source: Source = "auto",
    basemap: Basemap = "osm",
    lang: Lang = "zh",
) -> None:
    """Emerging hot spots (ArcGIS's classes: new, consecutive, intensifying, persistent,
    diminishing, sporadic, oscillating, historical): every cell with its pattern.

    A file needs --time-col. Example: gridwatch emerging reports.parquet --time-col
    occurred_at --res 8 --freq week --out emerging.csv
    """
    config = settings()
    _check_out(out, TABLE_OUTPUTS)
    with reported_errors(), progress_bar() as progress:
        analytics.check_parameters(res=res, k=k, freq=freq)
        selection = _selection(config, since, until, category, unit, source)
        task = progress.add_task("reading points", total=4)
        if points is None:
            analysis = _from_store(
                config,
                selection,
                lambda session, locator: analytics.emerging(
                    session,
                    locator,
                    selection,
                    samples_dir=config.samples_dir,
                    res=res,
                    freq=freq,
                    k=k,
                ),
                progress,
                task,
            )
        else:
            if time_col is None:
                raise GeoInputError("emerging hot spots need the time of each point: --time-col")
            cells, times = _file_points(
                points,
                config,
                lat_col=lat_col,
                lon_col=lon_col,
                crs=crs,
                time_col=time_col,
                category_col=category_col,
                selection=selection,
            )
            progress.update(task, description="building the space-time cube", advance=1)
            held, _ = counts_per_cell(cells, res)
            area = _area_cells(grids, layer, grids_crs, held, res, k)
            until_incl = selection.until - pd.Timedelta(microseconds=1) if selection.until else None
            table = emerging_hotspots(
                cells,
                times,
                res=res,
                freq=analytics.FREQS[freq],
                k=k,
                area_cells=area,
                start=selection.since,
                end=until_incl,
                tz=config.timezone,
            )
            meta = {
                "source": str(points),
                "reports": len(cells),
                "res": res,
                "k": k,
                "freq": freq,
                "cells": len(table),
            }
            analysis = analytics.Analysis(table, meta)
        progress.update(task, description=f"writing {out.name}", completed=3)
        _write("emerging", analysis, out, EMERGING_COLUMNS, basemap, lang)
    _report("emerging", analysis, out)


def summary(
    out: Annotated[Path, typer.Option(help="Output: .html (report with charts), .json or .csv")],
    period: Annotated[str, typer.Option(help="day, week (ISO, Monday first) or month")] = "week",
    date: Annotated[
        str | None, typer.Option(help="Any day of the period, YYYY-MM-DD (default: today)")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="A town, community or grid code")] = None,
    lang: Annotated[str, typer.Option(help="zh or en (HTML)")] = "zh",
) -> None:
    """The daily, weekly or monthly summary (日小结、周汇报、月汇总) of the case loop.

    Example: gridwatch summary --period week --date 2026-11-16 --unit DG20 --out report.html
    """
    config = settings()
    _check_out(out, SUMMARY_OUTPUTS)
    with reported_errors():
        day = parse_day(date, config.timezone)
        period_of(period, day)  # refuse a bad period before touching the store
    with reported_errors(), store_session(config) as session:
        directory = Directory.load(session)
        result = summarise(
            session, directory, period=period, day=day, unit=unit, tz=config.timezone
        )
    suffix = out.suffix.lower()
    if suffix == ".json":
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    elif suffix == ".csv":
        out.write_text(summary_csv(result), encoding="utf-8")
    else:
        out.write_text(render_summary_html(result, lang), encoding="utf-8")
    counts = result["counts"]
    console.print(
        f"{result['period']['label']} {result['unit']['name']}: {counts['received']} received, "
        f"{counts['closed']} closed, {counts['still_open']} still open; written to {out}"
    )
