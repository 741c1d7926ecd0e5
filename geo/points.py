"""Reading point files (reports, check-ins, key points) for the command line.

Users hand the CLI whatever their tools export: a CSV from a spreadsheet, a
Parquet extract, a GeoJSON or GeoPackage from QGIS, a shapefile. This module
turns any of them into a :class:`PointTable` in WGS-84 and, when the input is
unusable, raises a :class:`~geo.errors.GeoInputError` whose message says what
to fix.

Row numbering in error messages: rows are numbered from 1 in data order, so
"row 1" is the first data row (for a CSV, the first line after the header; in
a spreadsheet with a header row that is spreadsheet row 2). Every format uses
the same numbering.

CSVs from spreadsheets outside China and the US are often separated by
semicolons and write decimals with a comma (``23,02;113,75``): both are
recognised (the separator from the header line, the decimal comma from the
coordinate columns) unless given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.crs import parse_crs, to_wgs84, validate_coordinates
from geo.errors import GeoInputError, GeometryError

__all__ = [
    "SUPPORTED_READ_EXTENSIONS",
    "SUPPORTED_WRITE_EXTENSIONS",
    "OptionNames",
    "PointTable",
    "read_points",
    "write_table",
]

_TABULAR_EXTENSIONS: tuple[str, ...] = (".csv", ".parquet")
_VECTOR_EXTENSIONS: tuple[str, ...] = (".geojson", ".json", ".gpkg", ".shp")
SUPPORTED_READ_EXTENSIONS: tuple[str, ...] = _TABULAR_EXTENSIONS + _VECTOR_EXTENSIONS
SUPPORTED_WRITE_EXTENSIONS: tuple[str, ...] = (".csv", ".parquet")

_MAX_LISTED_ROWS = 5
_ROW_NOTE = "(rows are numbered from 1, the first data row)"
_SEPARATORS = (",", ";", "\t", "|")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


@dataclass(frozen=True)
class OptionNames:
    """How the caller spells :func:`read_points`' options in its error messages: Python
    keywords by default, a command line its flags (``--lat-col``). ``None``: no such
    option, so the message says to rename the column instead."""

    lat_col: str | None = "lat_col="
    lon_col: str | None = "lon_col="
    sep: str = "sep="
    decimal: str = "decimal="


@dataclass(frozen=True)
class PointTable:
    """Points read from a file: the original columns plus WGS-84 coordinates.

    ``frame`` keeps the input columns unchanged (including the original lat/lon
    values, in the file's own coordinate system) so that output can be joined
    back to what the user gave; ``lat``/``lon`` are float64 WGS-84 degrees,
    aligned with the rows of ``frame``.
    """

    frame: pd.DataFrame
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.lat.shape[0])


def _row_numbers(n: int) -> npt.NDArray[np.int64]:
    return np.arange(1, n + 1, dtype=np.int64)


def _list_rows(rows: npt.NDArray[np.int64], describe: list[str]) -> str:
    """'row 3: ...; row 9: ...; ... and N more' for at most the first few rows."""
    parts = describe[:_MAX_LISTED_ROWS]
    if rows.size > _MAX_LISTED_ROWS:
        parts = [*parts, f"... and {rows.size - _MAX_LISTED_ROWS} more"]
    return "; ".join(parts)


def _check_file(path: Path, allow_empty: bool) -> str:
    """Return the lower-case extension of a readable, supported (and non-empty) file."""
    if not path.exists():
        raise GeoInputError(f"file not found: {path}. Check the path and try again.")
    if path.is_dir():
        raise GeoInputError(f"{path} is a directory; pass the path of a point file.")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_READ_EXTENSIONS:
        raise GeoInputError(
            f"unsupported file type {ext or '(no extension)'!r} for {path.name}; "
            f"supported extensions are: {', '.join(SUPPORTED_READ_EXTENSIONS)}"
        )
    if path.stat().st_size == 0 and not allow_empty:
        raise GeoInputError(f"{path} is empty; it must contain at least one point.")
    return ext


def _sniff_separator(path: Path) -> str:
    """The separator of a CSV: the candidate that occurs most often in its header line."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, sep: str, decimal: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, decimal=decimal)
    except pd.errors.EmptyDataError as exc:
        raise GeoInputError(f"{path} is empty; it must contain at least one point.") from exc
    except Exception as exc:  # pandas raises many classes on bad files
        raise GeoInputError(f"cannot read {path} as CSV: {exc}") from exc


def _writes_decimal_commas(frame: pd.DataFrame, columns: tuple[str, str]) -> bool:
    """Whether the coordinate columns hold text like ``23,02`` (and nothing else)."""
    present = [
        frame[c]
        for c in columns
        if c in frame.columns and not pd.api.types.is_numeric_dtype(frame[c])
    ]
    values = [str(v) for column in present for v in column.dropna()]
    return bool(values) and all(_DECIMAL_COMMA.match(v) for v in values)


def _read_tabular(
    path: Path, ext: str, columns: tuple[str, str], sep: str | None, decimal: str | None
) -> pd.DataFrame:
    if ext == ".csv":
        sep = sep if sep is not None else _sniff_separator(path)
        frame = _read_csv(path, sep, decimal or ".")
        if decimal is None and sep != "," and _writes_decimal_commas(frame, columns):
            frame = _read_csv(path, sep, ",")
        return frame
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many classes on bad files
        raise GeoInputError(f"cannot read {path} as Parquet: {exc}") from exc


def _require_columns(
    frame: pd.DataFrame, path: Path, lat_col: str, lon_col: str, names: OptionNames
) -> None:
    missing = [c for c in (lat_col, lon_col) if c not in frame.columns]
    if not missing:
        return
    available = ", ".join(repr(str(c)) for c in frame.columns) or "(none)"
    which = " and ".join(repr(c) for c in missing)
    noun = "column" if len(missing) == 1 else "columns"
    if names.lat_col is None or names.lon_col is None:
        hint = f"Rename the column(s) to {lat_col!r} and {lon_col!r}."
    else:
        hint = f"Rename the column(s) or pass {names.lat_col}/{names.lon_col} to name them."
    if len(frame.columns) == 1:
        hint += f" If the file is not comma-separated, pass {names.sep} (e.g. ';')."
    raise GeoInputError(
        f"{path.name} has no {which} {noun}; available columns: {available}. {hint}"
    )


def _to_numeric(
    values: pd.Series[Any], column: str, what: str, names: OptionNames
) -> npt.NDArray[np.float64]:
    """Coerce a coordinate column to float64; non-numeric text is an error naming rows.

    Empty cells become NaN and are reported later by validate_coordinates as
    missing; text that is not a number ("N/A", "31,2") is reported here.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    result = np.asarray(numeric, dtype=np.float64)
    bad = np.flatnonzero(np.isnan(result) & np.asarray(values.notna()))
    if bad.size:
        rows = _row_numbers(len(values))[bad]
        originals = values.to_numpy()[bad]
        describe = [f"row {r}: {v!r}" for r, v in zip(rows, originals, strict=True)]
        noun = "rows have" if bad.size > 1 else "row has"
        commas = any(_DECIMAL_COMMA.match(str(v)) for v in originals)
        hint = (
            f" If the file writes decimals with a comma, pass {names.decimal} ','."
            if commas
            else ""
        )
        raise GeoInputError(
            f"{bad.size} {noun} a non-numeric {what} in column {column!r}: "
            f"{_list_rows(rows, describe)}. Fix or remove these rows {_ROW_NOTE}.{hint}"
        )
    return result


def _read_vector(
    path: Path, allow_empty: bool
) -> tuple[pd.DataFrame, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Read a GeoJSON/GeoPackage/shapefile of points as (attributes, lat, lon).

    A file that declares a CRS other than EPSG:4326 (e.g. a UTM zone) is
    reprojected to EPSG:4326 first, so the coordinates are geographic degrees.
    """
    import geopandas as gpd  # heavy import, only needed for vector files

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio/GDAL raise many classes for unreadable files
        hint = (
            " (.json files must be GeoJSON FeatureCollections)"
            if path.suffix.lower() == ".json"
            else ""
        )
        raise GeoInputError(f"cannot read {path} as a vector file{hint}: {exc}") from exc
    if len(gdf) == 0 and not allow_empty:
        raise GeoInputError(f"{path} has no features; it must contain at least one point.")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)

    geometry = gdf.geometry
    rows = _row_numbers(len(gdf))
    missing = np.asarray(geometry.isna() | geometry.is_empty)
    if missing.any():
        bad_rows = rows[missing]
        describe = [f"row {r}" for r in bad_rows]
        raise GeometryError(
            f"{bad_rows.size} feature(s) in {path.name} have no geometry: "
            f"{_list_rows(bad_rows, describe)}. Give every feature a point {_ROW_NOTE}."
        )
    geom_types = np.asarray(geometry.geom_type, dtype=object)
    not_point = geom_types != "Point"
    if not_point.any():
        bad_rows = rows[not_point]
        describe = [f"row {r}: {t}" for r, t in zip(bad_rows, geom_types[not_point], strict=True)]
        raise GeometryError(
            f"{path.name} must contain Point geometries, but {bad_rows.size} feature(s) "
            f"are not points: {_list_rows(bad_rows, describe)}. Convert them to points "
            f"(e.g. centroids) or remove them {_ROW_NOTE}."
        )
    lat = np.asarray(geometry.y, dtype=np.float64)
    lon = np.asarray(geometry.x, dtype=np.float64)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return frame, lat, lon


def read_points(
    path: str | os.PathLike[str],
    *,
    lat_col: str = "lat",
    lon_col: str = "lon",
    crs: str = "wgs84",
    sep: str | None = None,
    decimal: str | None = None,
    allow_empty: bool = False,
    names: OptionNames = OptionNames(),
) -> PointTable:
    """Read a point file and return its rows with WGS-84 coordinates.

    Formats by extension: .csv and .parquet take latitude/longitude from the
    columns ``lat_col``/``lon_col``; .geojson, .json, .gpkg and .shp take them
    from Point geometries (``lat_col``/``lon_col`` are then not used), after
    reprojecting to EPSG:4326 when the file declares another CRS. ``crs`` names
    the Chinese system the degrees are in (wgs84, gcj02 or bd09; GeoJSON always
    claims WGS-84 even when an app exported GCJ-02), and the result is converted
    to WGS-84. A CSV's separator (``sep``) and decimal mark (``decimal``) are
    recognised when not given (see the module docstring). ``allow_empty``
    accepts a file with no points (empty, a header only, no features). Errors
    are GeoInputError with a message naming what to fix, and naming the
    options as the caller spells them (``names``); rows are numbered from 1,
    the first data row.
    """
    crs_name = parse_crs(crs)
    file_path = Path(path)
    ext = _check_file(file_path, allow_empty)
    if allow_empty and file_path.stat().st_size == 0:
        return _no_points(pd.DataFrame())

    if ext in _TABULAR_EXTENSIONS:
        frame = _read_tabular(file_path, ext, (lat_col, lon_col), sep, decimal)
        if len(frame) == 0:
            if allow_empty:
                return _no_points(frame)
            raise GeoInputError(
                f"{file_path} has no data rows; it must contain at least one point."
            )
        _require_columns(frame, file_path, lat_col, lon_col, names)
        lat = _to_numeric(frame[lat_col], lat_col, "latitude", names)
        lon = _to_numeric(frame[lon_col], lon_col, "longitude", names)
    else:
        frame, lat, lon = _read_vector(file_path, allow_empty)
        if len(frame) == 0:
            return _no_points(frame)

    try:
        lat, lon = validate_coordinates(lat, lon, row_labels=_row_numbers(len(frame)))
    except GeoInputError as exc:
        raise type(exc)(f"{file_path.name}: {exc} {_ROW_NOTE}") from exc
    wgs_lat, wgs_lon = to_wgs84(lat, lon, crs_name)
    return PointTable(frame=frame, lat=wgs_lat, lon=wgs_lon)


def _no_points(frame: pd.DataFrame) -> PointTable:
    empty = np.empty(0, dtype=np.float64)
    return PointTable(frame=frame, lat=empty, lon=empty.copy())


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as .csv or .parquet, chosen by the extension of ``path``.

    The CLI writes results next to the user's input in the format they asked
    for; anything else is rejected before a file is created.
    """
    file_path = Path(path)
    ext = file_path.suffix.lower()
    if ext not in SUPPORTED_WRITE_EXTENSIONS:
        raise GeoInputError(
            f"cannot write {file_path.name}: unsupported extension "
            f"{ext or '(no extension)'!r}; supported extensions are: "
            f"{', '.join(SUPPORTED_WRITE_EXTENSIONS)}"
        )
    if not file_path.parent.is_dir():
        raise GeoInputError(
            f"cannot write {file_path}: directory {file_path.parent} does not exist; "
            "create it first."
        )
    if ext == ".csv":
        frame.to_csv(file_path, index=False)
    else:
        frame.to_parquet(file_path, index=False)
