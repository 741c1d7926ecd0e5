"""CellMap.locate must equal the exact covers rule for every point."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.cellmap import EDGE, INSIDE, OUTSIDE, SNAPPED, CellMap
from geo.errors import CoordinateError, GeometryError


def exact_answer(
    polygons: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rule, by brute force: interior beats boundary, then the first polygon listed."""
    pts = shapely.points(lon, lat)
    index = np.full(len(pts), -1)
    kind = np.full(len(pts), OUTSIDE)
    for j in range(len(polygons) - 1, -1, -1):  # later polygons first, so earlier ones overwrite
        covered = shapely.covers(polygons[j], pts)
        index[covered & (kind != INSIDE)] = j
        kind[covered & (kind != INSIDE)] = EDGE
    for j in range(len(polygons) - 1, -1, -1):
        inner = shapely.contains_properly(polygons[j], pts)
        index[inner] = j
        kind[inner] = INSIDE
    return index, kind


def metric_distances(polygons: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Distance in metres from each point (outside all polygons) to each polygon's edges,
    in the map's local azimuthal equidistant projection."""
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    proj = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={(miny + maxy) / 2} +lon_0={(minx + maxx) / 2} +datum=WGS84 +units=m"
    )
    fwd = pyproj.Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    projected = shapely.transform(
        polygons, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1]))
    )
    x, y = fwd.transform(lon, lat)
    pts = shapely.points(x, y)
    return np.stack([shapely.distance(p.boundary, pts) for p in projected], axis=1)


@st.composite
def polygon_sets(draw: st.DrawFn) -> np.ndarray:
    """A Voronoi tessellation (shared edges and vertices) with holes, multipolygons and gaps."""
    lat0 = draw(st.floats(-60, 60))
    lon0 = draw(st.floats(-170, 170))
    size = draw(st.floats(0.005, 0.3))
    n = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    box = shapely.box(lon0, lat0, lon0 + size, lat0 + size * 0.8)
    seeds = shapely.multipoints(rng.uniform([lon0, lat0], [lon0 + size, lat0 + size * 0.8], (n, 2)))
    cells = [
        shapely.intersection(c, box) for c in shapely.get_parts(shapely.voronoi_polygons(seeds))
    ]
    cells = [c for c in cells if not c.is_empty and c.area > 0]
    out: list[shapely.Geometry] = []
    for i, cell in enumerate(cells):
        if draw(st.booleans()) and i % 3 == 0:  # a hole, its centre left as a gap
            hole = cell.centroid.buffer(np.sqrt(cell.area) * 0.2, quad_segs=3)
            cell = shapely.difference(cell, hole)
        out.append(cell)
    if len(out) >= 4 and draw(st.booleans()):  # a multipolygon of two non-adjacent cells
        merged = shapely.union(out[0], out[-1])
        out = [merged, *out[1:-1]]
    if draw(st.booleans()):  # a polygon overlapping others: tests the ordering rule
        out.append(box.centroid.buffer(size * 0.15, quad_segs=4))
    out = [shapely.make_valid(g) for g in out]
    out = [g for g in out if shapely.get_type_id(g) in (3, 6) and not g.is_empty]
    return np.asarray(out, dtype=object)


def sample_points(
    polygons: np.ndarray, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random points around the polygons plus every vertex and some edge points exactly."""
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    pad = (maxx - minx) * 0.05
    lon = rng.uniform(minx - pad, maxx + pad, n)
    lat = rng.uniform(miny - pad, maxy + pad, n)
    verts = shapely.get_coordinates(polygons)
    ring = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(polygons), (maxx - minx) / 50)
    )
    pts = np.concatenate([np.column_stack([lon, lat]), verts, ring])
    return pts[:, 1], pts[:, 0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polygon_sets(), st.integers(0, 2**32 - 1), st.sampled_from([None, 7, 9, 10]))
def test_locate_equals_exact_covers_rule(polygons: np.ndarray, seed: int, res: int | None) -> None:
    if len(polygons) == 0:
        return
    ids = np.arange(len(polygons))
    cm = CellMap.build(polygons, ids, res=res, snap_meters=50.0)
    lat, lon = sample_points(polygons, np.random.default_rng(seed), 3000)
    got = cm.locate(lat, lon)
    want_index, want_kind = exact_answer(polygons, lat, lon)

    covered = want_kind != OUTSIDE
    np.testing.assert_array_equal(got.index[covered], want_index[covered])
    np.testing.assert_array_equal(got.match[covered], want_kind[covered])
    assert np.all(got.distance_m[covered] == 0)

    rest = ~covered
    if rest.any():
        dist = metric_distances(polygons, lat[rest], lon[rest])
        nearest = dist.min(axis=1)
        near = nearest <= 50.0
        far = ~near
        assert np.all(got.match[rest][near] == SNAPPED)
        assert np.all(got.match[rest][far] == OUTSIDE)
        np.testing.assert_allclose(got.distance_m[rest][near], nearest[near], atol=1e-6)
        # the nearest polygon wins; ties go to the first polygon listed
        second = (
            np.sort(dist[near], axis=1)[:, 1] if dist.shape[1] > 1 else np.full(near.sum(), np.inf)
        )
        clear = second - nearest[near] > 1e-6
        np.testing.assert_array_equal(
            got.index[rest][near][clear], np.argmin(dist[near], axis=1)[clear]
        )
        assert np.all(got.index[rest][far] == -1)

    for i in range(0, len(lat), 97):  # the one-point path agrees with the batch path
        one = cm.locate_one(float(lat[i]), float(lon[i]))
        assert one[0] == got.index[i]
        assert one[1] == got.match_names()[i]


def test_shared_edge_goes_to_first_listed_polygon() -> None:
    left = shapely.box(113.70, 23.00, 113.75, 23.05)
    right = shapely.box(113.75, 23.00, 113.80, 23.05)
    cm = CellMap.build([right, left], ["R", "L"])
    located = cm.locate([23.02, 23.02, 23.02], [113.75, 113.72, 113.78])
    assert located.index.tolist() == [0, 1, 0]
    assert located.match_names().tolist() == ["edge", "inside", "inside"]
    assert cm.locate_one(23.02, 113.75) == (0, "edge", 0.0)


def test_snaps_within_tolerance_in_metres_and_flags_outside_beyond() -> None:
    square = shapely.box(113.70, 23.00, 113.75, 23.05)
    cm = CellMap.build([square], ["A"], snap_meters=100)
    metres_per_deg_lon = 111_320 * np.cos(np.radians(23.02))
    near_lon = 113.75 + 80 / metres_per_deg_lon  # 80 m east: a degree test would be wrong
    far_lon = 113.75 + 130 / metres_per_deg_lon
    located = cm.locate([23.02, 23.02], [near_lon, far_lon])
    assert located.match_names().tolist() == ["snapped", "outside"]
    assert located.index.tolist() == [0, -1]
    assert located.distance_m[0] == pytest.approx(80, abs=0.5)
    assert np.isnan(located.distance_m[1])


def test_resolution_is_chosen_from_polygon_size_and_overridable() -> None:
    small = [shapely.box(113.7, 23.0, 113.71, 23.01)]  # about 1 km across
    large = [shapely.box(113.0, 23.0, 114.0, 24.0)]  # about 100 km across
    assert CellMap.build(small, [1]).res > CellMap.build(large, [1]).res
    assert CellMap.build(small, [1], res=6).res == 6


def test_save_load_and_rebuild_when_polygons_change(tmp_path) -> None:
    polys = [shapely.box(113.70, 23.00, 113.75, 23.05), shapely.box(113.75, 23.00, 113.80, 23.05)]
    path = tmp_path / "map.npz"
    built = CellMap.load_or_build(path, polys, ["L", "R"])
    assert path.exists()
    loaded = CellMap.load(path, polys, ["L", "R"])
    assert loaded is not None and loaded.source_hash == built.source_hash
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(22.99, 23.06, 2000), rng.uniform(113.69, 113.81, 2000)
    a, b = built.locate(lat, lon), loaded.locate(lat, lon)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.match, b.match)

    moved = [polys[0], shapely.box(113.75, 23.00, 113.81, 23.05)]
    assert CellMap.load(path, moved, ["L", "R"]) is None  # stale: different polygons
    assert CellMap.load(path, polys, ["L", "X"]) is None  # stale: different ids
    rebuilt = CellMap.load_or_build(path, moved, ["L", "R"])
    assert rebuilt.locate_one(23.02, 113.805)[0] == 1
    assert CellMap.load(path, moved, ["L", "R"]) is not None


@pytest.mark.parametrize(
    ("polygons", "message"),
    [
        ([], "at least one polygon"),
        ([shapely.Polygon()], "empty polygon"),
        ([shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])], "invalid polygon"),
        ([shapely.Point(0, 0)], "not a Polygon"),
    ],
)
def test_refuses_unusable_polygons(polygons: list, message: str) -> None:
    with pytest.raises(GeometryError, match=message):
        CellMap.build(polygons, list(range(len(polygons))))


def test_refuses_duplicate_ids_and_bad_coordinates() -> None:
    square = shapely.box(0, 0, 1, 1)
    with pytest.raises(GeometryError, match="unique"):
        CellMap.build([square, square], ["a", "a"])
    cm = CellMap.build([square], ["a"])
    with pytest.raises(CoordinateError, match="row"):
        cm.locate([0.5, np.nan], [0.5, 0.5])
    with pytest.raises(CoordinateError):
        cm.locate_one(95.0, 0.5)
