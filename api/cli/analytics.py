"""gridwatch hotspots / emerging / summary: the analytics from the command line.

``hotspots`` and ``emerging`` read a file of points (CSV, Parquet, GeoJSON,
GeoPackage) or, without one, the store (its cases, or the sample city's
reports when it has none in the window), and write every cell of the field
(zeros included) as CSV, Parquet or GeoJSON, or the map as HTML.
``summary`` writes the daily, weekly or monthly summary as HTML, JSON or CSV.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer

from api.cli.common import (
    Decimal,
    Sep,
    console,
    fail,
    load_locator,
    read_point_file,
    reported_errors,
    settings,
    store_session,
    write_map_page,
)
from api.cli.route import _progress as progress_bar

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from api.settings import Settings
    from grids.analytics import hotspots as analytics
    from grids.analytics.minimums import Inference

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
#: The time column of a file when --time-col is not given: the first of these it has.
TIME_COLUMNS = ("occurred_at", "time", "timestamp", "datetime")
TimeCol = Annotated[
    str | None,
    typer.Option(
        help="Time column (ISO 8601; times without a zone are local); default: "
        + ", ".join(TIME_COLUMNS[:-1])
        + f" or {TIME_COLUMNS[-1]}, the first the file has"
    ),
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
Basemap = Annotated[
    str, typer.Option(help="HTML only: configured (GRIDWATCH_BASEMAP_URL, if set) or none")
]
Lang = Annotated[str, typer.Option(help="HTML only: zh or en")]
Engine = Annotated[
    str,
    typer.Option(
        help="Store only: memory (count the store's cases here) or dask (count an exported "
        "history, --from, on a Dask cluster); the same cells, z, p and classes"
    ),
]
History = Annotated[
    Path | None,
    typer.Option("--from", help="--engine dask: the directory of `gridwatch export cases DIR`"),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        help="--engine dask: a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: start a LocalCluster)"
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(min=1, help="--engine dask: LocalCluster workers (default: Dask's choice)"),
]


@dataclass(frozen=True)
class PointOptions:
    """The options ``hotspots`` and ``emerging`` share after their own: the window and
    category, a file's columns and study area, the store's unit and source, the map page."""

    since: Since = None
    until: Until = None
    category: CategoryFilter = None
    lat_col: LatCol = "lat"
    lon_col: LonCol = "lon"
    crs: Crs = "wgs84"
    sep: Sep = None
    decimal: Decimal = None
    time_col: TimeCol = None
    category_col: CategoryCol = "category"
    grids: Grids = None
    layer: Layer = None
    grids_crs: GridsCrs = "wgs84"
    unit: UnitCode = None
    basemap: Basemap = "configured"
    lang: Lang = "zh"
    engine: Engine = "memory"
    history: History = None
    scheduler: Scheduler = None
    workers: Workers = None

    def selection(self, config: Settings) -> analytics.Selection:
        from grids.analytics import hotspots as analytics

        tz = config.timezone
        selection = analytics.Selection(
            analytics.parse_instant(self.since, tz, name="--since"),
            analytics.parse_instant(self.until, tz, name="--until"),
            self.category,
            self.unit,
        )
        return selection


def with_point_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(<its own parameters>, *, options: PointOptions)`` as Typer reads it: its own
    parameters, then every field of :class:`PointOptions` as an option of its own, which a
    call gathers into ``options``."""
    hints = get_type_hints(PointOptions, include_extras=True)
    shared = [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=field.default,
            annotation=hints[field.name],
        )
        for field in fields(PointOptions)
    ]
    own = [
        parameter
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "options"
    ]

    @functools.wraps(command)
    def run(**values: Any) -> None:
        options = PointOptions(
            **{field.name: values.pop(field.name) for field in fields(PointOptions)}
        )
        command(**values, options=options)

    parameters = own + shared
    signature = inspect.Signature(parameters, return_annotation=None)
    run.__signature__ = signature  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run


# --------------------------------------------------------------------------
# the analyses, of a file's points or of the store
# --------------------------------------------------------------------------


def _check_out(out: Path, allowed: tuple[str, ...]) -> None:
    if out.suffix.lower() not in allowed:
        fail(f"--out {out}: write one of {', '.join(allowed)}")
    if not out.parent.is_dir():
        fail(f"--out {out}: directory {out.parent} does not exist; create it first")


@dataclass(frozen=True)
class _PointFile:
    """A file of points to analyse, what reading it needs, and how to advance the progress."""

    path: Path
    config: Settings
    options: PointOptions
    selection: analytics.Selection
    step: Callable[[str], None]

    def points(self, *, need_times: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Fine cells (res 12) and UTC times of the points of the file that pass the filters;
        the times are read when needed (``need_times``, a window) or given (--time-col)."""
        import numpy as np
        import pandas as pd

        from geo.aggregate import as_datetime64
        from geo.errors import GeoInputError
        from geo.h3cells import latlng_to_cells
        from grids.analytics import hotspots as analytics

        path, options, selection = self.path, self.options, self.selection
        table = read_point_file(
            path,
            lat_col=options.lat_col,
            lon_col=options.lon_col,
            crs=options.crs,
            sep=options.sep,
            decimal=options.decimal,
        )
        keep = np.ones(len(table), dtype=bool)
        times = None
        time_col, category_col = options.time_col, options.category_col
        windowed = selection.since is not None or selection.until is not None
        if time_col is None and (need_times or windowed):
            time_col = next((c for c in TIME_COLUMNS if c in table.frame.columns), None)
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
                parsed = parsed.dt.tz_localize(self.config.timezone)
            times = as_datetime64(parsed)
        if times is None and (need_times or windowed):
            needs = "emerging hot spots need" if need_times else "--since/--until need"
            raise GeoInputError(
                f"{needs} the time of each point: {path.name} has no column "
                f"{' or '.join(TIME_COLUMNS)}; name its time column with --time-col"
            )
        if windowed:
            keep &= selection.in_window(times)
        if selection.category is not None:
            if category_col not in table.frame.columns:
                raise GeoInputError(
                    f"--category needs the column {category_col!r} (--category-col)"
                )
            keep &= table.frame[category_col].astype(str).to_numpy() == selection.category
        if not keep.any():
            raise GeoInputError(
                f"no point of {path.name} passes the filters (--since, --until, --category)"
            )
        cells = latlng_to_cells(table.lat[keep], table.lon[keep], analytics.RES_RANGE[1])
        return cells, (times[keep] if times is not None else None)

    def area_cells(self, held: np.ndarray, res: int, k: int) -> np.ndarray:
        """The study area's cells: the polygons of --grids, else the report cells and their
        k-rings."""
        import numpy as np
        import shapely

        from geo.aggregate import study_area_cells
        from geo.errors import GeoInputError
        from geo.h3cells import grid_disks
        from geo.polygons import read_polygon_file

        grids = self.options.grids
        if grids is None:
            return grid_disks(held, k)
        frame = read_polygon_file(grids, layer=self.options.layer, crs=self.options.grids_crs)
        polygons = shapely.get_parts(np.asarray(frame.geometry.values, dtype=object))
        polygons = polygons[shapely.get_type_id(polygons) == 3]
        if len(polygons) == 0:
            raise GeoInputError(f"{grids} has no polygons; --grids must be a polygon file")
        return study_area_cells(shapely.MultiPolygon(list(polygons)), res)

    def analysis(self, cells: np.ndarray, table: pd.DataFrame, **params: Any) -> analytics.Analysis:
        from grids.analytics import hotspots as analytics

        meta = {"source": str(self.path), "reports": len(cells), **params, "cells": len(table)}
        return analytics.Analysis(table, meta)


def _hotspots_of_file(
    file: _PointFile, *, res: int, k: int, kernel: str, fdr: bool, inference: Inference
) -> analytics.Analysis:
    from geo.aggregate import complete_field, counts_per_cell
    from geo.hotspots import hotspot_table
    from grids.analytics.minimums import check_hotspot_field

    cells, _ = file.points()
    file.step("counting")
    held, counts = counts_per_cell(cells, res)
    field, values = complete_field(file.area_cells(held, res, k), held, counts)
    check_hotspot_field(values)
    file.step(f"Gi* on {len(field):,} cells")
    table = hotspot_table(
        field,
        values,
        k=k,
        kernel=kernel,
        fdr=fdr,
        permutations=inference.draws,
        seed=inference.seed,
    )
    params = {"res": res, "k": k, "kernel": kernel, "fdr": fdr} | inference.describe()
    return file.analysis(cells, table, **params)


def _emerging_of_file(file: _PointFile, *, res: int, k: int, freq: str) -> analytics.Analysis:
    from geo.aggregate import counts_per_cell
    from geo.emerging import emerging_hotspots
    from grids.analytics import hotspots as analytics
    from grids.analytics.minimums import check_time_steps

    cells, times = file.points(need_times=True)
    assert times is not None  # points() refuses a file without times when they are needed
    file.step("building the space-time cube")
    held, _ = counts_per_cell(cells, res)
    table = emerging_hotspots(
        cells,
        times,
        res=res,
        freq=analytics.FREQS[freq],
        k=k,
        area_cells=file.area_cells(held, res, k),
        start=file.selection.since,
        end=file.selection.last_instant,
        tz=file.config.timezone,
    )
    check_time_steps(int(table["n_bins"].max()) if len(table) else 0, freq)
    return file.analysis(cells, table, res=res, k=k, freq=freq)


_OF_FILE: dict[str, Callable[..., analytics.Analysis]] = {
    "hotspots": _hotspots_of_file,
    "emerging": _emerging_of_file,
}
_COLUMNS = {"hotspots": HOTSPOT_COLUMNS, "emerging": EMERGING_COLUMNS}


def _analyse(
    kind: str, points: Path | None, out: Path, options: PointOptions, params: dict[str, Any]
) -> None:
    """The analysis ``kind`` of the file's points (of the store without one), written to
    ``out``, and a line saying what it found."""
    from grids.analytics import hotspots as analytics

    config = settings()
    _check_out(out, TABLE_OUTPUTS)
    _check_engine(points, options)
    with reported_errors(), progress_bar() as progress:
        checked = {n: v for n, v in params.items() if n not in ("fdr", "inference")}
        analytics.check_parameters(**checked)  # (fdr is a switch, inference checked itself)
        selection = options.selection(config)
        task = progress.add_task("reading points", total=4)
        if points is None:
            progress.update(task, description="loading the store's grids")
            locator = load_locator(config)
            progress.update(task, description=f"computing ({options.engine})")
            with _counter(options) as counter, store_session(config) as session:
                analysis = analytics.ANALYSES[kind](
                    session, locator, selection, **params, counter=counter
                )
        else:

            def step(description: str) -> None:
                progress.update(task, description=description, advance=1)

            file = _PointFile(points, config, options, selection, step)
            analysis = _OF_FILE[kind](file, **params)
        progress.update(task, description=f"writing {out.name}", completed=3)
        _write(kind, analysis, out, _COLUMNS[kind], options.basemap, options.lang)
    _report(kind, analysis, out)


def _check_engine(points: Path | None, options: PointOptions) -> None:
    """Refuse engine options that do not go together, before any work."""
    from api.cli.cluster import ENGINES

    if options.engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, got {options.engine!r}")
    if options.engine == "memory":
        if options.history or options.scheduler or options.workers:
            fail("--from, --scheduler and --workers go with --engine dask")
        return
    if points is not None:
        fail("--engine dask counts an exported history (--from DIR), not a file of points")
    if options.history is None:
        fail("--engine dask needs --from DIR, a history written by `gridwatch export cases DIR`")
    if options.scheduler and options.workers:
        fail("--workers sizes a LocalCluster; a --scheduler has its own workers")


@contextmanager
def _counter(options: PointOptions) -> Iterator[analytics.Counter | None]:
    """How the reports are counted: None (the store's cases, in memory) or the exported
    history on a Dask cluster that lives as long as the block."""
    if options.engine == "memory" or options.history is None:
        yield None
        return
    from api.cli.cluster import dask_client
    from grids.analytics.dask_counts import DaskCounter

    with dask_client(options.scheduler, options.workers):
        yield DaskCounter(options.history)


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
    from geo.maps import pages as maps
    from geo.points import write_table

    table = analysis.table
    columns = columns + [c for c in ("gi_p_sim",) if c in table.columns]
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


@with_point_options
def hotspots(
    points: Points = None,
    out: Out = Path("hotspots.csv"),
    res: Res = 9,
    k: K = 1,
    kernel: Annotated[
        str, typer.Option(help="uniform, triangular, quadratic, quartic, gaussian")
    ] = "uniform",
    fdr: Annotated[bool, typer.Option(help="Classes with FDR correction")] = True,
    inference: Annotated[
        str, typer.Option(help="normal (z-score p-values) or permutation (pseudo p-values)")
    ] = "normal",
    permutations: Annotated[
        int, typer.Option(help="Conditional permutations with --inference permutation")
    ] = 999,
    seed: Annotated[int | None, typer.Option(help="Seed of the permutations")] = None,
    *,
    options: PointOptions,
) -> None:
    """Getis-Ord Gi* hot spots: every cell of the field (zeros included) with
    cell, count, gi_z, gi_p, gi_p_fdr, class (gi_p_sim with --inference permutation);
    or the map (.html). Refused (exit 2) below 30 cells with reports.

    Example: gridwatch hotspots reports.csv --res 9 --k 1 --time-col occurred_at
    --since 2026-10-01 --grids city.gpkg --layer grids --out hotspots.geojson
    """
    from grids.analytics.minimums import Inference

    with reported_errors():
        chosen = Inference(inference, permutations, seed)
    params = {"res": res, "k": k, "kernel": kernel, "fdr": fdr, "inference": chosen}
    _analyse("hotspots", points, out, options, params)


@with_point_options
def emerging(
    points: Points = None,
    out: Out = Path("emerging.csv"),
    res: Res = 8,
    freq: Annotated[str, typer.Option(help="Time bins: day, week (ISO) or month")] = "week",
    k: K = 1,
    *,
    options: PointOptions,
) -> None:
    """Emerging hot spots (ArcGIS's classes: new, consecutive, intensifying, persistent,
    diminishing, sporadic, oscillating, historical): every cell with its pattern.
    Refused (exit 2) below 10 time steps.

    A file needs --time-col. Example: gridwatch emerging reports.parquet --time-col
    occurred_at --res 8 --freq week --out emerging.csv
    """
    params = {"res": res, "k": k, "freq": freq}
    _analyse("emerging", points, out, options, params)


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
    from api.summary_report import render_summary_html, summary_csv
    from grids.analytics.summaries import parse_day, period_of, summarise
    from grids.city.directory import Directory

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
