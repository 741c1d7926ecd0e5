"""Tests for geo.crs: WGS-84 / GCJ-02 / BD-09 conversions and coordinate checks."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import (
    CRS_NAMES,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_crs,
    to_wgs84,
    transform_geometries,
    validate_coordinates,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.errors import CoordinateError, CRSError, GeoInputError

EARTH_RADIUS_M = 6371008.8
TOLERANCE_M = 0.5


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Great-circle distance in metres (spherical; plenty for sub-metre checks)."""
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h)), dtype=np.float64)


def china_points(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Random points well inside the GCJ-02 rectangle (away from its edges)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(18.0, 53.5, n), rng.uniform(73.5, 135.0, n)


# ---------------------------------------------------------------------------
# Published reference vectors
# ---------------------------------------------------------------------------

# (wgs_lat, wgs_lon, gcj_lat, gcj_lon)
WGS_GCJ_REFERENCE = [
    # googollee/eviltransform, python/test.py and go/transform_test.go, TESTS ("shanghai")
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    # googollee/eviltransform, python/test.py and go/transform_test.go, TESTS ("shenzhen")
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    # googollee/eviltransform, python/test.py and go/transform_test.go, TESTS ("beijing")
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
    # wandergis/coordtransform README.md: wgs84togcj02(116.404, 39.915)
    #   -> [116.41024449916938, 39.91640428150164]  (the README gives lng, lat)
    (39.915, 116.404, 39.91640428150164, 116.41024449916938),
]

# (gcj_lat, gcj_lon, bd_lat, bd_lon)
GCJ_BD_REFERENCE = [
    # wandergis/coordtransform README.md: gcj02tobd09(116.404, 39.915)
    #   -> [116.41036949371029, 39.92133699351021]  (lng, lat)
    (39.915, 116.404, 39.92133699351021, 116.41036949371029),
    # wandergis/coordtransform README.md: bd09togcj02(116.404, 39.915)
    #   -> [116.39762729119315, 39.90865673957631]  (lng, lat), i.e. this GCJ-02 point is
    #   BD-09 (39.915, 116.404)
    (39.90865673957631, 116.39762729119315, 39.915, 116.404),
    # Alibaba Cloud address purification API docs, "TransferCoord" example
    # (help.aliyun.com/zh/address-purification/addrpapi/developer-reference/
    #  coordinate-system-conversion): GCJ02 "120.026268,30.279164" -> BD09
    # "120.032768,30.285238" (lng,lat, rounded to 6 decimals by the API, ~0.1 m)
    (30.279164, 120.026268, 30.285238, 120.032768),
]


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), WGS_GCJ_REFERENCE)
def test_wgs84_to_gcj02_matches_published_reference(
    wgs_lat: float, wgs_lon: float, gcj_lat: float, gcj_lon: float
) -> None:
    lat, lon = wgs84_to_gcj02(wgs_lat, wgs_lon)
    assert haversine_m(lat, lon, gcj_lat, gcj_lon) < TOLERANCE_M


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), WGS_GCJ_REFERENCE)
def test_gcj02_to_wgs84_matches_published_reference(
    wgs_lat: float, wgs_lon: float, gcj_lat: float, gcj_lon: float
) -> None:
    # Same vectors read backwards: eviltransform's own "exact" test asserts < 0.5 m too.
    lat, lon = gcj02_to_wgs84(gcj_lat, gcj_lon)
    assert haversine_m(lat, lon, wgs_lat, wgs_lon) < TOLERANCE_M


@pytest.mark.parametrize(("gcj_lat", "gcj_lon", "bd_lat", "bd_lon"), GCJ_BD_REFERENCE)
def test_bd09_matches_published_reference(
    gcj_lat: float, gcj_lon: float, bd_lat: float, bd_lon: float
) -> None:
    lat, lon = gcj02_to_bd09(gcj_lat, gcj_lon)
    assert haversine_m(lat, lon, bd_lat, bd_lon) < TOLERANCE_M
    lat, lon = bd09_to_gcj02(bd_lat, bd_lon)
    assert haversine_m(lat, lon, gcj_lat, gcj_lon) < TOLERANCE_M


def test_wgs84_bd09_chain_matches_published_references() -> None:
    # WGS-84 -> BD-09 composes the two published steps (wandergis README, Beijing).
    bd_lat, bd_lon = wgs84_to_bd09(39.915, 116.404)
    exp_lat, exp_lon = gcj02_to_bd09(39.91640428150164, 116.41024449916938)
    assert haversine_m(bd_lat, bd_lon, exp_lat, exp_lon) < TOLERANCE_M
    lat, lon = bd09_to_wgs84(bd_lat, bd_lon)
    assert haversine_m(lat, lon, 39.915, 116.404) < TOLERANCE_M


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


def test_gcj02_round_trip_many_points_within_half_a_metre() -> None:
    lat, lon = china_points(20_000, seed=20240601)
    gcj_lat, gcj_lon = wgs84_to_gcj02(lat, lon)
    # GCJ-02 really moves points (hundreds of metres), so the test is not vacuous.
    assert np.median(haversine_m(lat, lon, gcj_lat, gcj_lon)) > 50
    back_lat, back_lon = gcj02_to_wgs84(gcj_lat, gcj_lon)
    assert haversine_m(lat, lon, back_lat, back_lon).max() < TOLERANCE_M
    # ... and in fact to ~1e-9 degrees: the iteration reproduces the input.
    again_lat, again_lon = wgs84_to_gcj02(back_lat, back_lon)
    np.testing.assert_allclose(again_lat, gcj_lat, rtol=0, atol=1e-8)
    np.testing.assert_allclose(again_lon, gcj_lon, rtol=0, atol=1e-8)


def test_gcj02_inverse_is_better_than_the_one_step_formula() -> None:
    # The common one-step inverse (gcj - delta(gcj)) is off by up to metres; ours must not be.
    lat, lon = china_points(5_000, seed=7)
    gcj_lat, gcj_lon = wgs84_to_gcj02(lat, lon)
    one_step_lat = gcj_lat - (wgs84_to_gcj02(gcj_lat, gcj_lon)[0] - gcj_lat)
    one_step_lon = gcj_lon - (wgs84_to_gcj02(gcj_lat, gcj_lon)[1] - gcj_lon)
    assert haversine_m(lat, lon, one_step_lat, one_step_lon).max() > 1.0
    back_lat, back_lon = gcj02_to_wgs84(gcj_lat, gcj_lon)
    assert haversine_m(lat, lon, back_lat, back_lon).max() < 0.01


def test_bd09_round_trips_many_points() -> None:
    lat, lon = china_points(20_000, seed=99)
    bd_lat, bd_lon = gcj02_to_bd09(lat, lon)
    back_lat, back_lon = bd09_to_gcj02(bd_lat, bd_lon)
    assert haversine_m(lat, lon, back_lat, back_lon).max() < TOLERANCE_M
    bd_lat, bd_lon = wgs84_to_bd09(lat, lon)
    back_lat, back_lon = bd09_to_wgs84(bd_lat, bd_lon)
    assert haversine_m(lat, lon, back_lat, back_lon).max() < TOLERANCE_M


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(min_value=1.0, max_value=55.5),
    lon=st.floats(min_value=72.5, max_value=137.5),
    src=st.sampled_from(CRS_NAMES),
    dst=st.sampled_from(CRS_NAMES),
)
def test_convert_round_trip_property(lat: float, lon: float, src: str, dst: str) -> None:
    # Keep the GCJ-02 input (and its shifted output) inside the China rectangle,
    # where the transform is invertible; near its edges "inside" is ambiguous.
    there_lat, there_lon = convert(lat, lon, src, dst)
    back_lat, back_lon = convert(there_lat, there_lon, dst, src)
    assert haversine_m(lat, lon, back_lat, back_lon) < TOLERANCE_M


# ---------------------------------------------------------------------------
# Outside China, shapes, dispatch
# ---------------------------------------------------------------------------


def test_outside_china_is_left_unchanged_by_gcj02() -> None:
    # Paris, New York, Sydney, Jakarta (south of the rectangle), northern Siberia.
    lat = np.array([48.8566, 40.7128, -33.8688, -6.2088, 60.0])
    lon = np.array([2.3522, -74.0060, 151.2093, 106.8456, 100.0])
    assert out_of_china(lat, lon).all()
    gcj_lat, gcj_lon = wgs84_to_gcj02(lat, lon)
    np.testing.assert_array_equal(gcj_lat, lat)
    np.testing.assert_array_equal(gcj_lon, lon)
    wgs_lat, wgs_lon = gcj02_to_wgs84(lat, lon)
    np.testing.assert_array_equal(wgs_lat, lat)
    np.testing.assert_array_equal(wgs_lon, lon)


def test_mixed_inside_and_outside_points_in_one_array() -> None:
    lat = np.array([39.9, 48.8566, 31.2])
    lon = np.array([116.4, 2.3522, 121.5])
    gcj_lat, gcj_lon = wgs84_to_gcj02(lat, lon)
    assert gcj_lat[1] == lat[1] and gcj_lon[1] == lon[1]
    assert haversine_m(lat[[0, 2]], lon[[0, 2]], gcj_lat[[0, 2]], gcj_lon[[0, 2]]).min() > 100
    back_lat, back_lon = gcj02_to_wgs84(gcj_lat, gcj_lon)
    assert haversine_m(lat, lon, back_lat, back_lon).max() < TOLERANCE_M


@pytest.mark.parametrize(
    "func",
    [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84],
)
def test_scalars_lists_and_arrays(func: object) -> None:
    assert callable(func)
    lat, lon = func(39.9, 116.4)
    assert isinstance(lat, np.ndarray) and lat.shape == () and lat.dtype == np.float64
    assert isinstance(lon, np.ndarray) and lon.shape == () and lon.dtype == np.float64

    lat_l, lon_l = func([39.9, 31.2], [116.4, 121.5])
    assert lat_l.shape == (2,) and lon_l.shape == (2,) and lat_l.dtype == np.float64
    assert lat_l[0] == pytest.approx(float(lat)) and lon_l[0] == pytest.approx(float(lon))

    grid_lat = np.full((3, 4), 39.9)
    grid_lon = np.full((3, 4), 116.4, dtype=np.float32)
    lat_g, lon_g = func(grid_lat, grid_lon)
    assert lat_g.shape == (3, 4) and lon_g.shape == (3, 4) and lon_g.dtype == np.float64

    empty_lat, empty_lon = func(np.array([]), np.array([]))
    assert empty_lat.shape == (0,) and empty_lon.shape == (0,)


def test_conversions_do_not_modify_their_inputs() -> None:
    lat = np.array([39.9, 31.2])
    lon = np.array([116.4, 121.5])
    lat_copy, lon_copy = lat.copy(), lon.copy()
    gcj02_to_wgs84(lat, lon)
    bd09_to_gcj02(lat, lon)
    np.testing.assert_array_equal(lat, lat_copy)
    np.testing.assert_array_equal(lon, lon_copy)


def test_nan_propagates_without_breaking_other_points() -> None:
    lat, lon = gcj02_to_wgs84([np.nan, 39.9], [116.4, 116.4])
    assert np.isnan(lat[0])
    assert np.isfinite(lat[1]) and np.isfinite(lon[1])


def test_to_and_from_wgs84_dispatch() -> None:
    lat, lon = 39.9, 116.4
    np.testing.assert_array_equal(to_wgs84(lat, lon, "wgs84"), (lat, lon))
    np.testing.assert_array_equal(to_wgs84(lat, lon, "GCJ-02"), gcj02_to_wgs84(lat, lon))
    np.testing.assert_array_equal(to_wgs84(lat, lon, "baidu"), bd09_to_wgs84(lat, lon))
    np.testing.assert_array_equal(from_wgs84(lat, lon, "EPSG:4326"), (lat, lon))
    np.testing.assert_array_equal(from_wgs84(lat, lon, "mars"), wgs84_to_gcj02(lat, lon))
    np.testing.assert_array_equal(from_wgs84(lat, lon, "bd-09"), wgs84_to_bd09(lat, lon))
    with pytest.raises(CRSError, match="unknown coordinate system 'utm'"):
        to_wgs84(lat, lon, "utm")


# ---------------------------------------------------------------------------
# parse_crs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        (" WGS 84 ", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("4326", "wgs84"),
        ("gcj-02", "gcj02"),
        ("gcj02", "gcj02"),
        ("GCJ_02", "gcj02"),
        ("mars", "gcj02"),
        ("Mars", "gcj02"),
        ("bd-09", "bd09"),
        ("bd09", "bd09"),
        ("BD09", "bd09"),
        ("baidu", "bd09"),
    ],
)
def test_parse_crs_aliases(alias: str, expected: str) -> None:
    assert parse_crs(alias) == expected
    assert expected in CRS_NAMES


@pytest.mark.parametrize("bad", ["", "utm50n", "EPSG:3857", "wgs72", "bd", 4326, None])
def test_parse_crs_rejects_unknown_names_listing_accepted_values(bad: object) -> None:
    with pytest.raises(CRSError, match=r"use one of: wgs84.*gcj02.*bd09") as info:
        parse_crs(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, GeoInputError)
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------------------
# transform_geometries
# ---------------------------------------------------------------------------


def test_transform_geometries_matches_point_conversion() -> None:
    polygon = shapely.Polygon([(116.30, 39.90), (116.40, 39.90), (116.40, 40.00), (116.30, 39.90)])
    geoms = np.array([shapely.Point(116.4, 39.9), polygon, None, shapely.Point(121.5, 31.2, 12.0)])
    out = transform_geometries(geoms, "wgs84", "gcj02")
    assert out.shape == (4,)
    assert out[2] is None
    x, y = shapely.get_coordinates(out[0])[0]
    exp_lat, exp_lon = wgs84_to_gcj02(39.9, 116.4)
    assert (y, x) == pytest.approx((float(exp_lat), float(exp_lon)), abs=1e-12)
    ring = shapely.get_coordinates(out[1])
    exp_lat_r, exp_lon_r = wgs84_to_gcj02(
        np.array([39.90, 39.90, 40.00, 39.90]), np.array([116.30, 116.40, 116.40, 116.30])
    )
    np.testing.assert_allclose(ring[:, 0], exp_lon_r, atol=1e-12)
    np.testing.assert_allclose(ring[:, 1], exp_lat_r, atol=1e-12)
    assert shapely.has_z(out[3]) and shapely.get_coordinates(out[3], include_z=True)[0, 2] == 12.0
    # The input is left alone.
    assert shapely.equals(geoms[0], shapely.Point(116.4, 39.9))


def test_transform_geometries_round_trip_and_sequences() -> None:
    polygon = shapely.box(113.90, 22.50, 114.00, 22.60)
    there = transform_geometries([polygon], "wgs84", "bd09")
    back = transform_geometries(there, "baidu", "WGS84")
    assert isinstance(back, np.ndarray) and back.shape == (1,)
    distances = haversine_m(
        shapely.get_coordinates(back[0])[:, 1],
        shapely.get_coordinates(back[0])[:, 0],
        shapely.get_coordinates(polygon)[:, 1],
        shapely.get_coordinates(polygon)[:, 0],
    )
    assert distances.max() < TOLERANCE_M
    same = transform_geometries([polygon], "gcj02", "mars")
    assert shapely.equals(same[0], polygon)
    with pytest.raises(CRSError):
        transform_geometries([polygon], "wgs84", "osgb36")


# ---------------------------------------------------------------------------
# validate_coordinates
# ---------------------------------------------------------------------------


def test_validate_coordinates_returns_float64_arrays() -> None:
    lat, lon = validate_coordinates([39.9, -90, 90], [116.4, -180, 180])
    assert lat.dtype == np.float64 and lon.dtype == np.float64
    np.testing.assert_array_equal(lat, [39.9, -90, 90])
    empty_lat, empty_lon = validate_coordinates(np.array([]), np.array([]))
    assert empty_lat.size == 0 and empty_lon.size == 0


def test_validate_coordinates_names_rows_and_problems() -> None:
    lat = np.zeros(13)
    lon = np.zeros(13)
    lat[7] = np.nan
    lon[12] = 200.0
    lat[3] = -91.5
    with pytest.raises(CoordinateError) as info:
        validate_coordinates(lat, lon)
    message = str(info.value)
    assert message.startswith("3 rows have invalid coordinates: ")
    assert "row 3: latitude -91.5 is outside [-90, 90]" in message
    assert "row 7: latitude is missing (NaN)" in message
    assert "row 12: longitude 200.0 is outside [-180, 180]" in message
    assert message.endswith("Fix or remove these rows.")
    assert message.index("row 3") < message.index("row 7") < message.index("row 12")


def test_validate_coordinates_uses_row_labels_and_reports_both_problems() -> None:
    with pytest.raises(CoordinateError, match=r"^1 row has invalid coordinates: row b: ") as info:
        validate_coordinates([1.0, np.inf], [2.0, -np.inf], row_labels=["a", "b"])
    assert "latitude is infinite (inf), longitude is infinite (-inf)" in str(info.value)
    with pytest.raises(CoordinateError, match=r"row 11: longitude -180\.5 is outside"):
        validate_coordinates([1.0, 2.0], [3.0, -180.5], row_labels=np.array([10, 11]))


def test_validate_coordinates_lists_at_most_five_rows() -> None:
    lat = np.full(100, np.nan)
    with pytest.raises(CoordinateError) as info:
        validate_coordinates(lat, np.zeros(100))
    message = str(info.value)
    assert message.startswith("100 rows have invalid coordinates")
    assert "row 4:" in message and "row 5:" not in message
    assert "... and 95 more" in message


def test_validate_coordinates_rejects_mismatched_or_non_numeric_input() -> None:
    with pytest.raises(CoordinateError, match="different shapes"):
        validate_coordinates([1.0, 2.0], [1.0])
    with pytest.raises(CoordinateError, match="one label per point"):
        validate_coordinates([1.0, 2.0], [1.0, 2.0], row_labels=[1])
    with pytest.raises(CoordinateError, match="must be numbers"):
        validate_coordinates(["north"], [1.0])
