"""Emerging hot spots: the cube, space-time Gi*, Mann-Kendall, the ESRI classes (the sample city's planted hot spots: tests/grids/test_history.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

from geo.emerging import (
    EMERGING_PATTERNS,
    SpaceTimeCube,
    bin_starts,
    classify_emerging,
    emerging_from_cube,
    emerging_hotspots,
    mann_kendall,
    space_time_cube,
    space_time_gi_star,
    time_bins,
)
from geo.errors import GeoInputError
from geo.h3cells import grid_disks, latlng_to_cells
from geo.hotspots import gi_star_weights, h3_weights

CENTRE = latlng_to_cells(np.array([22.95]), np.array([113.75]), 9)
FIELD = grid_disks(CENTRE, 12)  # 469 cells
CLUSTER = np.isin(FIELD, grid_disks(CENTRE, 1))
AT = int(np.searchsorted(FIELD, CENTRE[0]))
T = 20


# --- the cube -------------------------------------------------------------------------


def test_time_bins_days_iso_weeks_months() -> None:
    t = np.array(
        ["2026-11-08T23:59", "2026-11-09T00:00", "2026-11-15T23:00", "2026-12-01"], "M8[m]"
    )
    weeks = time_bins(t, "W")
    assert weeks.tolist()[1:3] == [weeks[1], weeks[1]] and weeks[0] == weeks[1] - 1
    assert str(bin_starts(weeks[1:2], "W")[0]) == "2026-11-09"  # a Monday
    iso = [pd.Timestamp(x).isocalendar()[1] for x in t]
    assert np.diff(weeks).tolist() == np.diff(iso).tolist()
    assert str(bin_starts(time_bins(t, "M"), "M")[-1]) == "2026-12-01"
    assert str(bin_starts(time_bins(t, "D"), "D")[0]) == "2026-11-08"
    with pytest.raises(GeoInputError, match="freq"):
        time_bins(t, "Q")  # type: ignore[arg-type]


def test_space_time_cube_counts_and_zeros() -> None:
    rng = np.random.default_rng(0)
    lat = rng.normal(22.95, 0.004, 3000)
    lon = rng.normal(113.75, 0.004, 3000)
    cells = latlng_to_cells(lat, lon, 12)
    times = pd.Series(
        pd.to_datetime("2026-03-01T00:00Z") + pd.to_timedelta(rng.uniform(0, 60, 3000), "D")
    )
    area = FIELD[:200]
    cube = space_time_cube(cells, times, res=9, freq="W", area_cells=area, tz="Asia/Shanghai")
    assert set(area.tolist()) <= set(cube.cells.tolist())
    assert cube.counts.shape == (len(cube.cells), len(cube.bins))
    assert cube.counts.sum() == 3000
    local = times.dt.tz_convert("Asia/Shanghai")
    week = (local.dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time).to_numpy("M8[D]")
    parents = np.array([h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), 9)) for c in cells])
    want = (
        pd.Series(1, index=pd.MultiIndex.from_arrays([parents, week])).groupby(level=[0, 1]).sum()
    )
    for (cell, start), n in itertools.islice(want.items(), 200):
        i = np.searchsorted(cube.cells, np.uint64(cell))
        j = np.searchsorted(cube.bins, np.datetime64(start, "D"))
        assert cube.counts[i, j] == n
    # fixed extent: reports outside [start, end] dropped, empty bins kept
    fixed = space_time_cube(cells, times, res=9, freq="D", start="2026-03-10", end="2026-03-12")
    assert len(fixed.bins) == 3
    inside = (times >= "2026-03-10") & (times < "2026-03-13")
    assert fixed.counts.sum() == inside.sum()
    # without an area, the field is the cells with reports (in the window) and their k-rings
    np.testing.assert_array_equal(fixed.cells, grid_disks(np.unique(parents[inside.to_numpy()]), 1))


Plan = Callable[[int], float | str | None]
City = dict[str, Any]


def _cube(plan: Plan, seed: int = 0, lam: float = 3.0) -> SpaceTimeCube:
    """A synthetic cube: Poisson background, and the centre's 1-ring planted per bin
    with extra counts (a number) or emptied ("zero")."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(lam, (len(FIELD), T))
    for t in range(T):
        extra = plan(t)
        if extra == "zero":
            counts[CLUSTER, t] = 0
        elif extra is not None:
            counts[CLUSTER, t] += rng.poisson(extra, CLUSTER.sum())
    bins = bin_starts(np.arange(2900, 2900 + T), "W")
    return SpaceTimeCube(FIELD, bins, counts, "W")


def test_space_time_gi_star_is_gi_star_on_the_flattened_cube() -> None:
    cube = _cube(lambda t: 8 if t > 12 else None, lam=1.0)
    for kernel, time_window in (("uniform", 0), ("uniform", 1), ("triangular", 3)):
        z, p = space_time_gi_star(
            cube.cells, cube.counts, k=2, kernel=kernel, time_window=time_window
        )
        w_space = h3_weights(cube.cells, k=2, kernel=kernel)
        band = sp.diags(
            [np.ones(T - s) for s in range(time_window + 1)], [-s for s in range(time_window + 1)]
        )
        w_cube = sp.kron(w_space, band, format="csr")  # row (cell, bin) = cell * T + bin
        ref = gi_star_weights(w_cube, cube.counts.ravel())
        np.testing.assert_allclose(z.ravel(), ref.z, atol=1e-10)
        np.testing.assert_allclose(p.ravel(), ref.p, atol=1e-12)


# --- Mann-Kendall ---------------------------------------------------------------------


def _mk_brute(x: np.ndarray) -> tuple[int, float]:
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i in range(n) for j in range(i + 1, n))
    _, t = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(t * (t - 1) * (2 * t + 5))) / 18
    return int(s), float(var)


def test_mann_kendall_equals_brute_force_and_kendall_tau() -> None:
    rng = np.random.default_rng(3)
    series = np.vstack(
        [
            rng.normal(size=(20, 30)),
            np.round(rng.normal(size=(20, 30)), 0),  # many ties
            np.arange(30.0)[None, :] + rng.normal(0, 3, (5, 30)),
            np.zeros((1, 30)),
        ]
    )
    mk = mann_kendall(series)
    for row, s, var in zip(series, mk.s, mk.var_s, strict=True):
        want_s, want_var = _mk_brute(np.round(row, 9))
        assert s == want_s and var == pytest.approx(want_var)
    no_ties = series[:20]
    taus = [stats.kendalltau(np.arange(30), r).statistic for r in no_ties]
    np.testing.assert_allclose(mk.tau[:20], taus, atol=1e-12)
    expected_z = (mk.s[:-1] - np.sign(mk.s[:-1])) / np.sqrt(mk.var_s[:-1])
    np.testing.assert_allclose(mk.z[:-1], expected_z)
    assert np.all(mk.z[40:45] > 3) and np.all(mk.p[40:45] < 0.01)
    assert mk.z[-1] == 0 and mk.p[-1] == 1  # constant series: no trend


# --- classification rules -------------------------------------------------------------


def _series(text: str) -> tuple[np.ndarray, np.ndarray]:
    return np.array([[c == "H" for c in text]]), np.array([[c == "C" for c in text]])


@pytest.mark.parametrize(
    ("bins", "trend", "want"),
    [
        ("..........", 0, "no_pattern"),
        (".........H", 0, "new_hot_spot"),
        (".......HHH", 0, "consecutive_hot_spot"),
        ("........HH", 0, "consecutive_hot_spot"),
        ("HHHHHHHHHH", 3, "intensifying_hot_spot"),
        ("HHHHHHHHHH", 0, "persistent_hot_spot"),
        ("HHHHHHHHHH", -3, "diminishing_hot_spot"),
        ("H.HHH..H.H", 0, "sporadic_hot_spot"),
        ("HH......HH", 0, "sporadic_hot_spot"),
        (".C......HH", 0, "oscillating_hot_spot"),
        ("C........H", 0, "oscillating_hot_spot"),
        ("HHHHHHHHH.", 0, "historical_hot_spot"),
        ("HHHHHHHHH.", -3, "historical_hot_spot"),
        ("H.HHH.HH..", 0, "no_pattern"),  # sporadic needs the final bin hot
        (".........C", 0, "new_cold_spot"),
        ("......CCCC", 0, "consecutive_cold_spot"),
        ("CCCCCCCCCC", -3, "intensifying_cold_spot"),
        ("CCCCCCCCCC", 0, "persistent_cold_spot"),
        ("CCCCCCCCCC", 3, "diminishing_cold_spot"),
        ("C..C.C...C", 0, "sporadic_cold_spot"),
        ("..H......C", 0, "oscillating_cold_spot"),
        ("CCCCCCCCC.", 0, "historical_cold_spot"),
        ("HHHHHHHHHC", 0, "oscillating_cold_spot"),  # the final bin decides the family
    ],
)
def test_classification_rules(bins: str, trend: float, want: str) -> None:
    hot, cold = _series(bins)
    got = classify_emerging(hot, cold, np.array([trend]), np.array([0.001 if trend else 0.9]))
    assert got.tolist() == [want]


def test_ninety_percent_threshold() -> None:
    # 18 of 20 hot (90 %), final hot: persistent; 17 of 20: sporadic
    hot, cold = _series("HHHHHHHH.HHHHHHHHH.H")
    assert classify_emerging(hot, cold, [0.0], [1.0]).tolist() == ["persistent_hot_spot"]
    hot, cold = _series("HHHHHHH..HHHHHHHHH.H")
    assert classify_emerging(hot, cold, [0.0], [1.0]).tolist() == ["sporadic_hot_spot"]


# --- planted patterns in synthetic cubes ----------------------------------------------

PLANS = {
    "new_hot_spot": (lambda t: 12 if t == T - 1 else None, 3.0),
    "consecutive_hot_spot": (lambda t: 12 if t >= T - 4 else None, 3.0),
    "intensifying_hot_spot": (lambda t: 3 + 1.5 * t, 3.0),
    "persistent_hot_spot": (lambda t: 10, 3.0),
    "diminishing_hot_spot": (lambda t: 33 - 1.5 * t, 3.0),
    "sporadic_hot_spot": (lambda t: 12 if t in (3, 4, 9, 14, T - 1) else None, 3.0),
    "oscillating_hot_spot": (
        lambda t: "zero" if t in (2, 3, 4, 5) else (12 if t in (10, 15, T - 1) else None),
        3.0,
    ),
    "historical_hot_spot": (lambda t: 12 if t < T - 2 else None, 3.0),
    "new_cold_spot": (lambda t: "zero" if t == T - 1 else None, 10.0),
    "consecutive_cold_spot": (lambda t: "zero" if t >= T - 4 else None, 10.0),
    "persistent_cold_spot": (lambda t: "zero", 10.0),
}


@pytest.mark.parametrize("pattern", list(PLANS))
def test_planted_pattern_is_recovered(pattern: str) -> None:
    plan, lam = PLANS[pattern]
    for seed in range(4):
        table = emerging_from_cube(_cube(plan, seed, lam), k=1, time_window=1)
        row = table.iloc[AT]
        assert row["pattern"] == pattern, (seed, row.to_dict())
        assert row["label"] == EMERGING_PATTERNS[pattern]
        assert row["cell"] == h3.int_to_str(int(CENTRE[0]))


def test_background_noise_has_almost_no_pattern() -> None:
    table = emerging_from_cube(_cube(lambda t: None, seed=9))
    assert (table["pattern"] != "no_pattern").mean() < 0.02


def test_emerging_table_columns() -> None:
    rng = np.random.default_rng(1)
    cells = latlng_to_cells(rng.normal(22.95, 0.003, 500), rng.normal(113.75, 0.003, 500), 11)
    times = np.datetime64("2026-01-05") + rng.integers(0, 120, 500).astype("m8[D]")
    table = emerging_hotspots(cells, times, res=9, freq="W", k=1)
    assert list(table.columns) == [
        "cell", "pattern", "label", "trend_z", "trend_p", "trend_tau", "hot_bins",
        "cold_bins", "n_bins", "final_bin_z", "final_bin_p", "count",
    ]  # fmt: skip
    assert table["count"].sum() == 500
    assert table["pattern"].isin(list(EMERGING_PATTERNS)).all()
    assert (table["n_bins"] == 18).all()  # 2026-01-05 .. 2026-05-04: 18 ISO weeks
