"""Counts per H3 cell and the complete field agree with h3-py and shapely, report by report."""

from __future__ import annotations

from collections import Counter

import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.aggregate import (
    as_datetime64,
    complete_field,
    counts_per_cell,
    report_mask,
    study_area_cells,
)
from geo.errors import GeoInputError
from geo.h3cells import latlng_to_cells

CATS = np.array(["garbage_piled", "illegal_parking", "noise_nuisance"], dtype=object)


def _reports(n: int = 20_000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = np.concatenate([rng.normal(23.02, 0.01, n // 2), rng.uniform(22.6, 23.2, n - n // 2)])
    lon = np.concatenate([rng.normal(113.75, 0.01, n // 2), rng.uniform(113.5, 114.2, n - n // 2)])
    start = np.datetime64("2026-01-01T00:00:00", "s").astype(np.int64)
    secs = rng.integers(0, 90 * 86400, n) + start
    return pd.DataFrame(
        {
            "cell": latlng_to_cells(lat, lon, 12),
            "category": CATS[rng.integers(0, 3, n)],
            "occurred_at": pd.to_datetime(secs, unit="s", utc=True),
        }
    )


def _h3py_counts(cells: np.ndarray, res: int) -> dict[int, int]:
    parents = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in cells]
    return dict(Counter(parents))


@pytest.mark.parametrize("res", [6, 8, 9, 12])
def test_counts_equal_h3py_parents(res: int) -> None:
    df = _reports()
    cells, counts = counts_per_cell(df["cell"].to_numpy(), res)
    assert cells.dtype == np.uint64 and counts.dtype == np.int64
    assert np.all(np.diff(cells.astype(np.float64)) >= 0)  # sorted
    assert dict(zip(cells.tolist(), counts.tolist(), strict=True)) == _h3py_counts(df["cell"], res)
    assert counts.sum() == len(df)


def test_category_and_time_window_filters() -> None:
    df = _reports()
    since, until = "2026-02-01", "2026-03-01T00:00:00+08:00"
    cells, counts = counts_per_cell(
        df["cell"].to_numpy(),
        8,
        categories=df["category"],
        category_filter={"garbage_piled", "noise_nuisance"},
        times=df["occurred_at"],
        since=since,
        until=until,
    )
    t = df["occurred_at"]
    sel = (
        df["category"].isin(["garbage_piled", "noise_nuisance"])
        & (t >= pd.Timestamp(since, tz="UTC"))
        & (t < pd.Timestamp(until))  # aware bound: 2026-02-28T16:00Z
    )
    assert 0 < sel.sum() < len(df)
    assert dict(zip(cells.tolist(), counts.tolist(), strict=True)) == _h3py_counts(
        df.loc[sel, "cell"], 8
    )
    _one, n_one = counts_per_cell(
        df["cell"].to_numpy(), 8, categories=df["category"], category_filter="illegal_parking"
    )
    assert n_one.sum() == (df["category"] == "illegal_parking").sum()


def test_window_is_half_open_and_naive_means_utc() -> None:
    times = np.array(["2026-03-01T00:00", "2026-03-01T23:59:59", "2026-03-02T00:00"], "M8[s]")
    mask = report_mask(3, times=times, since="2026-03-01", until=np.datetime64("2026-03-02"))
    assert mask.tolist() == [True, True, False]
    aware = pd.Series(pd.to_datetime(times).tz_localize("Asia/Shanghai"))
    # 00:00 in Shanghai is 16:00 UTC of the day before; the naive bound is UTC
    assert report_mask(3, times=aware, since="2026-03-01").tolist() == [False, True, True]
    assert report_mask(3, times=aware, since="2026-03-01T00:00+08:00").all()


def test_as_datetime64_local_calendar() -> None:
    utc = pd.Series(pd.to_datetime(["2026-11-15T17:30:00Z"]))
    assert str(as_datetime64(utc)[0]) == "2026-11-15T17:30:00.000000000"
    assert str(as_datetime64(utc, "Asia/Shanghai")[0]) == "2026-11-16T01:30:00.000000000"


def test_bad_input_is_refused_with_a_reason() -> None:
    coarse = latlng_to_cells(np.array([23.0]), np.array([113.7]), 7)
    with pytest.raises(GeoInputError, match="coarser"):
        counts_per_cell(coarse, 9)
    with pytest.raises(GeoInputError, match="categories"):
        counts_per_cell(coarse, 7, category_filter="x")
    with pytest.raises(GeoInputError, match="times"):
        counts_per_cell(coarse, 7, since="2026-01-01")
    with pytest.raises(GeoInputError, match="polygon"):
        study_area_cells(shapely.Point(0, 0), 9)
    with pytest.raises(GeoInputError, match="counts"):
        complete_field(coarse, coarse, np.array([1, 2]))


def test_empty_input_gives_empty_counts() -> None:
    cells, counts = counts_per_cell(np.empty(0, dtype=np.uint64), 9)
    assert len(cells) == 0 and len(counts) == 0


def test_study_area_cells_are_exactly_the_centres_inside() -> None:
    area = shapely.Polygon(
        [(113.70, 22.98), (113.80, 22.99), (113.78, 23.06), (113.74, 23.03), (113.71, 23.05)],
        holes=[[(113.74, 23.00), (113.76, 23.00), (113.75, 23.015)]],
    )
    second = shapely.box(113.9, 22.9, 113.93, 22.93)
    multi = shapely.MultiPolygon([area, second])
    for geom in (area, multi):
        got = study_area_cells(geom, 9)
        assert np.all(np.diff(got.astype(np.float64)) > 0)
        # every cell of a generous cover, judged by its centre
        x0, y0, x1, y1 = geom.bounds
        grid_lat, grid_lon = np.meshgrid(np.linspace(y0, y1, 120), np.linspace(x0, x1, 120))
        cover = np.unique(latlng_to_cells(grid_lat.ravel(), grid_lon.ravel(), 9))
        cover = np.unique(
            [h3.str_to_int(c) for cell in cover for c in h3.grid_disk(h3.int_to_str(int(cell)), 1)]
        ).astype(np.uint64)
        centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cover])
        inside = shapely.contains_xy(geom, centres[:, 1], centres[:, 0])
        np.testing.assert_array_equal(got, np.sort(cover[inside]))


def test_complete_field_has_zeros_and_outside_cells() -> None:
    area = study_area_cells(shapely.box(113.74, 23.00, 113.76, 23.02), 9)
    inside_cell = area[5]
    outside_cell = latlng_to_cells(np.array([23.2]), np.array([113.9]), 9)[0]
    cells = np.array([outside_cell, inside_cell, inside_cell], dtype=np.uint64)
    field, counts = complete_field(area, cells, np.array([4, 2, 3]))
    assert len(field) == len(area) + 1
    assert np.all(np.diff(field.astype(np.float64)) > 0)
    by_cell = dict(zip(field.tolist(), counts.tolist(), strict=True))
    assert by_cell[int(outside_cell)] == 4
    assert by_cell[int(inside_cell)] == 5  # listed twice: added
    assert sum(by_cell.values()) == 9
    assert sum(v == 0 for v in by_cell.values()) == len(area) - 1


def test_counts_then_complete_field_end_to_end() -> None:
    df = _reports(5000)
    area = study_area_cells(shapely.box(113.73, 23.0, 113.77, 23.04), 8)
    cells, counts = counts_per_cell(df["cell"].to_numpy(), 8)
    field, field_counts = complete_field(area, cells, counts)
    assert field_counts.sum() == len(df)
    assert set(area.tolist()) <= set(field.tolist())
    assert set(cells.tolist()) <= set(field.tolist())
