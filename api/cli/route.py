"""gridwatch route: locate a file of points in the grids, with officer and department."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.progress import Progress

    from geo.cellmap import CellMap, Located

CHUNK = 250_000


def route(
    points: Annotated[Path, typer.Argument(help="CSV, Parquet or GeoJSON of points")],
    out: Annotated[Path, typer.Option(help="Output file: .csv or .parquet")],
    lat_col: Annotated[str, typer.Option(help="Latitude column (CSV/Parquet)")] = "lat",
    lon_col: Annotated[str, typer.Option(help="Longitude column (CSV/Parquet)")] = "lon",
    crs: Annotated[str, typer.Option(help="Datum of the points: wgs84, gcj02 or bd09")] = "wgs84",
    sep: Sep = None,
    decimal: Decimal = None,
    grids: Annotated[
        Path | None, typer.Option(help="Route against this polygon file instead of the store")
    ] = None,
    grid_id_field: Annotated[
        str, typer.Option(help="Attribute of --grids naming each grid")
    ] = "code",
    layer: Annotated[str | None, typer.Option(help="Layer of --grids (GeoPackage)")] = None,
    grids_crs: Annotated[
        str, typer.Option(help="Datum of --grids: wgs84, gcj02 or bd09")
    ] = "wgs84",
    category_col: Annotated[
        str | None, typer.Option(help="Category column: adds the handling department")
    ] = None,
    time_col: Annotated[
        str | None, typer.Option(help="Time column (ISO 8601): picks the officer on duty then")
    ] = None,
    snap_meters: Annotated[float | None, typer.Option(help="Snap distance (default 100 m)")] = None,
    res: Annotated[int | None, typer.Option(help="H3 resolution of the cell map")] = None,
) -> None:
    """Locate every point in its grid: adds grid_id, match and snap_distance_m.

    With the store's grids it also adds the town, the officer on duty (or the
    fallback taken) and the department.

    Example: gridwatch route cases.csv --lat-col Lat --lon-col Long --grids tracts.geojson
    --grid-id-field nhood --out routed.csv
    """
    import numpy as np
    import pandas as pd

    from geo.points import write_table

    config = settings()
    snap = config.snap_meters if snap_meters is None else snap_meters
    if out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"--out {out}: write .csv or .parquet")
    with reported_errors(), _progress() as progress:
        task = progress.add_task("reading points", total=None)
        table = read_point_file(
            points, lat_col=lat_col, lon_col=lon_col, crs=crs, sep=sep, decimal=decimal
        )
        n = len(table.lat)
        if grids is not None:
            progress.update(task, description=f"building the cell map of {grids.name}")
            cellmap = _cellmap_from_file(grids, grid_id_field, layer, grids_crs, res, snap)
            located = _locate_in_chunks(cellmap, table.lat, table.lon, progress, task)
            result = pd.DataFrame(
                {
                    "grid_id": np.where(located.index >= 0, cellmap.ids[located.index], None),
                    "match": located.match_names(),
                    "snap_distance_m": located.distance_m,
                }
            )
        else:
            progress.update(task, description="loading the store's grids")
            locator = load_locator(config, res=res, snap_meters=snap)
            progress.update(task, description="routing", total=n, completed=0)
            result = locator.route_many(
                table.lat,
                table.lon,
                times=_column(table.frame, time_col),
                categories=_column(table.frame, category_col),
                progress=lambda done: progress.update(task, completed=done),
            )
        progress.update(task, description=f"writing {out.name}", completed=n)
        for column in result.columns:
            if column in table.frame.columns:
                fail(f"the input already has a column {column!r}; rename it before routing")
        write_table(pd.concat([table.frame.reset_index(drop=True), result], axis=1), out)
    counts = result["match"].value_counts().to_dict()
    console.print(
        f"{n} points routed to {out}: "
        + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("inside", "edge", "snapped", "outside"))
    )


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _column(frame: pd.DataFrame, name: str | None) -> pd.Series | None:
    if name is None:
        return None
    if name not in frame.columns:
        fail(f"no column {name!r} in the points; columns are {list(frame.columns)}")
    return frame[name].reset_index(drop=True)


def _cellmap_from_file(
    path: Path, id_field: str, layer: str | None, crs: str, res: int | None, snap: float
) -> CellMap:
    from geo.cellmap import CellMap
    from geo.polygons import normalise_polygons, read_polygon_file

    frame = read_polygon_file(path, layer=layer, crs=crs, id_field=id_field)
    if id_field not in frame.columns:
        fail(
            f"--grid-id-field {id_field!r} is not an attribute of {path}; "
            f"it has {[c for c in frame.columns if c != frame.geometry.name]}"
        )
    ids = frame[id_field].astype(str)
    if ids.duplicated().any():
        # Several features per id (e.g. tracts of one neighbourhood): one grid per id.
        frame = frame.dissolve(by=id_field, as_index=False)
        ids = frame[id_field].astype(str)
    polygons, _ = normalise_polygons(frame.geometry.values, ids.to_numpy())
    return CellMap.build(polygons, ids.to_numpy(), res=res, snap_meters=snap)


def _locate_in_chunks(
    cellmap: CellMap, lat: np.ndarray, lon: np.ndarray, progress: Progress, task: int
) -> Located:
    import numpy as np

    from geo.cellmap import Located

    progress.update(task, description="locating", total=len(lat), completed=0)
    parts = []
    for start in range(0, len(lat), CHUNK):
        parts.append(cellmap.locate(lat[start : start + CHUNK], lon[start : start + CHUNK]))
        progress.update(task, completed=min(len(lat), start + CHUNK))
    if not parts:
        return cellmap.locate(lat, lon)
    return Located(
        np.concatenate([p.index for p in parts]),
        np.concatenate([p.match for p in parts]),
        np.concatenate([p.distance_m for p in parts]),
    )
