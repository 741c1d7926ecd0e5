"""The array helpers agree with h3-py, cell by cell."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely

from geo import h3cells


def test_vectorised_cells_equal_h3py() -> None:
    rng = np.random.default_rng(7)
    lat = np.concatenate([rng.uniform(-89.9, 89.9, 20000), rng.uniform(22.5, 23.2, 20000)])
    lon = np.concatenate([rng.uniform(-179.9, 179.9, 20000), rng.uniform(113.5, 114.3, 20000)])
    for res in (0, 5, 9, 11, 15):
        got = h3cells.latlng_to_cells(lat, lon, res)
        want = [h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(lat, lon, strict=True)]
        np.testing.assert_array_equal(got, np.asarray(want, dtype=np.uint64))


@pytest.mark.parametrize("res", [0, 3, 8, 10])
def test_parents_by_bits_equal_h3py(res: int) -> None:
    rng = np.random.default_rng(res)
    cells = h3cells.latlng_to_cells(rng.uniform(-80, 80, 5000), rng.uniform(-179, 179, 5000), 12)
    got = h3cells.cells_to_parents(cells, res)
    want = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in cells]
    np.testing.assert_array_equal(got, np.asarray(want, dtype=np.uint64))
    assert [h3cells.cell_to_parent_int(int(c), res) for c in cells[:50]] == want[:50]
    assert set(h3cells.cell_resolutions(got).tolist()) == {res}


def test_cell_polygons_contain_their_centres_and_grow_when_scaled() -> None:
    cells = h3cells.latlng_to_cells(np.array([23.02, 0.0]), np.array([113.75, 0.0]), 9)
    plain = h3cells.cells_to_polygons(cells)
    grown = h3cells.cells_to_polygons(cells, scale=1.01)
    for cell, a, b in zip(cells.tolist(), plain, grown, strict=True):
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        assert a.contains(shapely.Point(lon, lat))
        assert b.contains(a) and b.area > a.area
