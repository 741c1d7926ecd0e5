"""Tests for geo.points: reading point files of every format, and their error messages."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02
from geo.errors import CoordinateError, CRSError, GeoInputError, GeometryError
from geo.points import PointTable, read_points, write_table

LAT = [31.2304, 31.2243, 30.2741]
LON = [121.4737, 121.4692, 120.1551]
NAMES = ["people's square", "xintiandi", "west lake"]


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({"name": NAMES, "lat": LAT, "lon": LON, "count": [3, 1, 4]})


def sample_gdf(crs: int | str = 4326) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"name": NAMES, "count": [3, 1, 4]},
        geometry=gpd.points_from_xy(LON, LAT),
        crs=4326,
    )
    return gdf.to_crs(crs)


def assert_sample_points(table: PointTable) -> None:
    assert isinstance(table, PointTable)
    assert len(table) == 3
    assert table.lat.dtype == np.float64 and table.lon.dtype == np.float64
    np.testing.assert_allclose(table.lat, LAT, rtol=0, atol=1e-6)
    np.testing.assert_allclose(table.lon, LON, rtol=0, atol=1e-6)
    assert list(table.frame["name"]) == NAMES


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------


def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    sample_frame().to_csv(path, index=False)
    table = read_points(path)
    assert_sample_points(table)
    assert list(table.frame.columns) == ["name", "lat", "lon", "count"]


def test_read_csv_custom_columns_and_str_path(tmp_path: Path) -> None:
    path = tmp_path / "reports.CSV"  # the extension is case-insensitive
    sample_frame().rename(columns={"lat": "纬度", "lon": "经度"}).to_csv(path, index=False)
    table = read_points(str(path), lat_col="纬度", lon_col="经度")
    assert_sample_points(table)


def test_read_parquet(tmp_path: Path) -> None:
    path = tmp_path / "reports.parquet"
    sample_frame().to_parquet(path, index=False)
    table = read_points(path)
    assert_sample_points(table)
    assert list(table.frame["count"]) == [3, 1, 4]


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".gpkg", ".shp"])
def test_read_vector_formats(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"points{suffix}"
    driver = {".json": "GeoJSON"}.get(suffix)
    sample_gdf().to_file(path, driver=driver)
    table = read_points(path)
    assert_sample_points(table)
    assert "geometry" not in table.frame.columns
    assert type(table.frame) is pd.DataFrame
    assert list(table.frame["count"]) == [3, 1, 4]


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_projected_files_are_reprojected_to_lat_lon(tmp_path: Path, suffix: str) -> None:
    # UTM zone 51N (EPSG:32651) covers Shanghai/Hangzhou; the file declares it.
    path = tmp_path / f"utm{suffix}"
    projected = sample_gdf(32651)
    assert projected.geometry.x.min() > 1000  # metres, not degrees
    projected.to_file(path)
    assert_sample_points(read_points(path))


def test_projected_file_in_utm_zone_49(tmp_path: Path) -> None:
    # EPSG:32649 (UTM 49N, 108-114 E): Guangzhou and Wuhan.
    lat = [23.1291, 30.5928]
    lon = [113.2644, 114.3055]
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    path = tmp_path / "utm49.gpkg"
    gdf.to_crs(32649).to_file(path)
    table = read_points(path)
    np.testing.assert_allclose(table.lat, lat, rtol=0, atol=1e-6)
    np.testing.assert_allclose(table.lon, lon, rtol=0, atol=1e-6)


def test_crs_argument_converts_to_wgs84_but_keeps_original_values(tmp_path: Path) -> None:
    gcj_lat, gcj_lon = wgs84_to_gcj02(np.array(LAT), np.array(LON))
    frame = pd.DataFrame({"name": NAMES, "lat": gcj_lat, "lon": gcj_lon})
    path = tmp_path / "amap.csv"
    frame.to_csv(path, index=False)
    table = read_points(path, crs="GCJ-02")
    np.testing.assert_allclose(table.lat, LAT, rtol=0, atol=1e-8)
    np.testing.assert_allclose(table.lon, LON, rtol=0, atol=1e-8)
    # frame keeps what the user gave (GCJ-02 values), for joining results back.
    np.testing.assert_allclose(table.frame["lat"], gcj_lat, rtol=0, atol=1e-12)

    baidu = tmp_path / "baidu.geojson"
    sample_gdf().to_file(baidu)
    table = read_points(baidu, crs="baidu")
    exp_lat, exp_lon = bd09_to_wgs84(np.array(LAT), np.array(LON))
    np.testing.assert_allclose(table.lat, exp_lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(table.lon, exp_lon, rtol=0, atol=1e-9)
    exp_lat, _ = gcj02_to_wgs84(np.array(LAT), np.array(LON))
    assert not np.allclose(exp_lat, table.lat)  # baidu is not mars


def test_numeric_strings_are_coerced(tmp_path: Path) -> None:
    path = tmp_path / "strings.parquet"
    frame = sample_frame().astype({"lat": str, "lon": str})
    frame.to_parquet(path, index=False)
    table = read_points(path)
    assert_sample_points(table)
    assert table.frame["lat"].tolist() == [str(v) for v in LAT]  # unchanged


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(GeoInputError, match=r"file not found: .*nope\.csv"):
        read_points(missing)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(GeoInputError, match="is a directory"):
        read_points(tmp_path)


@pytest.mark.parametrize("name", ["points.xlsx", "points.txt", "points"])
def test_unsupported_extension_lists_supported_ones(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("lat,lon\n1,2\n")
    with pytest.raises(
        GeoInputError,
        match=r"unsupported file type .*supported extensions are: "
        r"\.csv, \.parquet, \.geojson, \.json, \.gpkg, \.shp",
    ):
        read_points(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet", "empty.geojson", "empty.gpkg"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(GeoInputError, match="is empty; it must contain at least one point"):
        read_points(path)


def test_whitespace_only_csv_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(GeoInputError, match="is empty"):
        read_points(path)


def test_header_only_csv_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("name,lat,lon\n")
    with pytest.raises(GeoInputError, match="has no data rows"):
        read_points(path)


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    sample_frame().iloc[0:0].to_parquet(path, index=False)
    with pytest.raises(GeoInputError, match="has no data rows"):
        read_points(path)


def test_geojson_without_features(tmp_path: Path) -> None:
    path = tmp_path / "none.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(GeoInputError, match="has no features"):
        read_points(path)


def test_missing_lat_column_names_it_and_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    sample_frame().rename(columns={"lat": "latitude"}).to_csv(path, index=False)
    with pytest.raises(
        GeoInputError,
        match=r"has no 'lat' column; available columns: 'name', 'latitude', 'lon', 'count'\. "
        r"Rename the column\(s\) or pass lat_col=/lon_col=",
    ):
        read_points(path)
    # ... and with the right name it works.
    assert_sample_points(read_points(path, lat_col="latitude"))


def test_missing_both_columns(tmp_path: Path) -> None:
    path = tmp_path / "reports.parquet"
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_parquet(path, index=False)
    with pytest.raises(GeoInputError, match=r"has no 'lat' and 'lon' columns; .*'x', 'y'"):
        read_points(path)


def test_non_numeric_values_name_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text('name,lat,lon\na,31.2,121.5\nb,unknown,121.5\nc,31.2,121.5\nd,"31,2",121.5\n')
    with pytest.raises(
        GeoInputError,
        match=r"2 rows have a non-numeric latitude in column 'lat': "
        r"row 2: 'unknown'; row 4: '31,2'\. Fix or remove these rows \(rows are numbered from 1",
    ):
        read_points(path)


def test_non_numeric_longitude_single_row(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text("lat,lon\n31.2,121.5\n31.2,east\n")
    with pytest.raises(GeoInputError, match=r"1 row has a non-numeric longitude .*row 2: 'east'"):
        read_points(path)


def test_invalid_coordinates_name_one_based_rows(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text("lat,lon\n31.2,121.5\n,121.5\n31.2,200\n95,121.5\n")
    with pytest.raises(CoordinateError) as info:
        read_points(path)
    message = str(info.value)
    assert message.startswith("reports.csv: 3 rows have invalid coordinates: ")
    assert "row 2: latitude is missing (NaN)" in message
    assert "row 3: longitude 200.0 is outside [-180, 180]" in message
    assert "row 4: latitude 95.0 is outside [-90, 90]" in message
    assert "Fix or remove these rows." in message
    assert "rows are numbered from 1, the first data row" in message
    assert isinstance(info.value, GeoInputError)


def test_invalid_coordinates_in_parquet(tmp_path: Path) -> None:
    path = tmp_path / "reports.parquet"
    pd.DataFrame({"lat": [1.0, np.inf], "lon": [2.0, 3.0]}).to_parquet(path, index=False)
    with pytest.raises(GeoInputError, match=r"row 2: latitude is infinite"):
        read_points(path)


def test_unknown_crs(tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    sample_frame().to_csv(path, index=False)
    with pytest.raises(CRSError, match=r"unknown coordinate system 'utm'; use one of: wgs84"):
        read_points(path, crs="utm")


def test_non_point_geometries_are_rejected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"id": [1, 2, 3]},
        geometry=[
            shapely.Point(121.5, 31.2),
            shapely.box(121.0, 31.0, 121.1, 31.1),
            shapely.LineString([(121.0, 31.0), (121.1, 31.1)]),
        ],
        crs=4326,
    )
    path = tmp_path / "mixed.geojson"
    gdf.to_file(path)
    with pytest.raises(
        GeometryError,
        match=r"must contain Point geometries, but 2 feature\(s\) are not points: "
        r"row 2: Polygon; row 3: LineString\. Convert them to points",
    ):
        read_points(path)


def test_features_without_geometry_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nulls.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"id": 1},'
        ' "geometry": {"type": "Point", "coordinates": [121.5, 31.2]}},'
        '{"type": "Feature", "properties": {"id": 2}, "geometry": null}]}'
    )
    with pytest.raises(
        GeometryError, match=r"1 feature\(s\) in nulls.geojson have no geometry: row 2"
    ):
        read_points(path)


def test_plain_json_that_is_not_geojson(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text('[{"lat": 31.2, "lon": 121.5}]')
    with pytest.raises(GeoInputError, match="must be GeoJSON FeatureCollections"):
        read_points(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(GeoInputError, match=r"cannot read .*broken\.parquet as Parquet"):
        read_points(path)


# ---------------------------------------------------------------------------
# write_table
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_table_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    write_table(sample_frame(), path)
    assert_sample_points(read_points(path))
    reread = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert list(reread.columns) == ["name", "lat", "lon", "count"]  # no index column


def test_write_table_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(
        GeoInputError, match=r"unsupported extension '\.xlsx'; supported extensions are: \.csv"
    ):
        write_table(sample_frame(), tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_write_table_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GeoInputError, match="does not exist; create it first"):
        write_table(sample_frame(), tmp_path / "no" / "such" / "out.csv")
