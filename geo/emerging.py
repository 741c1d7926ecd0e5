"""Emerging hot spots: a space-time cube, space-time Gi*, Mann-Kendall, ArcGIS-style classes.

The method follows ArcGIS Pro's Emerging Hot Spot Analysis (ESRI, "How
Emerging Hot Spot Analysis works", Space Time Pattern Mining toolbox, and
the Emerging Hot Spot Analysis tool reference):

1. Reports are counted into a *space-time cube*: every cell of the field
   (zeros included) × every time bin (day, ISO week or calendar month) from
   the first to the last bin, empty bins included.
2. Each bin gets a Getis-Ord Gi* z-score whose neighbourhood is the k-ring of
   its cell in the same bin and in the previous ``time_window`` bins (ArcGIS's
   neighbourhood distance and "neighborhood time step"). The global mean and
   variance are those of the entire cube (ArcGIS's default global window).
3. A bin is a hot (cold) spot when its z is positive (negative) and its
   p-value, Benjamini–Hochberg corrected across the cells of its time step,
   is at most ``alpha`` (0.10, i.e. 90 % confidence, by default).
4. The Mann-Kendall test on each cell's series of z-scores gives its trend.
5. The series of hot/cold bins and the trend give the pattern (rules in
   :func:`classify_emerging`).

Where ESRI leaves a choice open we say what we do: the FDR family is one
time step (each step is corrected as its own hot spot map would be); the
trend is significant at ``trend_alpha`` = 0.05; bins are calendar days,
ISO weeks or months in a given time zone. As for any analytic Gi*, very
sparse counts make single reports look significant (see
:func:`geo.hotspots.gi_star`), so filter and bin so that a cell-bin
neighbourhood usually holds a few reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from geo.aggregate import TimeLike, as_datetime64
from geo.errors import GeoInputError
from geo.h3cells import cell_resolutions, cells_to_parents, grid_disks
from geo.hotspots import _gi_z, cells_to_strings, fdr_bh, h3_weights, two_sided_p

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Freq = Literal["D", "W", "M"]

#: Pattern keys in the order of ArcGIS's legend, and their English labels.
EMERGING_PATTERNS: dict[str, str] = {
    "new_hot_spot": "New Hot Spot",
    "consecutive_hot_spot": "Consecutive Hot Spot",
    "intensifying_hot_spot": "Intensifying Hot Spot",
    "persistent_hot_spot": "Persistent Hot Spot",
    "diminishing_hot_spot": "Diminishing Hot Spot",
    "sporadic_hot_spot": "Sporadic Hot Spot",
    "oscillating_hot_spot": "Oscillating Hot Spot",
    "historical_hot_spot": "Historical Hot Spot",
    "new_cold_spot": "New Cold Spot",
    "consecutive_cold_spot": "Consecutive Cold Spot",
    "intensifying_cold_spot": "Intensifying Cold Spot",
    "persistent_cold_spot": "Persistent Cold Spot",
    "diminishing_cold_spot": "Diminishing Cold Spot",
    "sporadic_cold_spot": "Sporadic Cold Spot",
    "oscillating_cold_spot": "Oscillating Cold Spot",
    "historical_cold_spot": "Historical Cold Spot",
    "no_pattern": "No Pattern Detected",
}
#: Share of bins that makes a location persistently hot (or cold) in ESRI's rules.
PERSISTENT_SHARE = 0.9


# --------------------------------------------------------------------------
# the cube
# --------------------------------------------------------------------------


def time_bins(times: NDArray[np.datetime64], freq: Freq) -> IntArray:
    """Integer bin of each (local, naive) instant: days, ISO weeks (Monday
    first) or calendar months since the Unix epoch."""
    if freq == "D":
        return np.asarray(times.astype("datetime64[D]").astype(np.int64))
    if freq == "W":
        days = times.astype("datetime64[D]").astype(np.int64)
        return np.asarray((days + 3) // 7)  # 1970-01-01 was a Thursday
    if freq == "M":
        return np.asarray(times.astype("datetime64[M]").astype(np.int64))
    raise GeoInputError(f"freq must be 'D', 'W' or 'M', got {freq!r}")


def bin_starts(bins: np.ndarray, freq: Freq) -> NDArray[np.datetime64]:
    """First day of each integer bin of :func:`time_bins`."""
    b = np.asarray(bins, dtype=np.int64)
    if freq == "D":
        return b.astype("datetime64[D]")
    if freq == "W":
        return (b * 7 - 3).astype("datetime64[D]")
    return b.astype("datetime64[M]").astype("datetime64[D]")


@dataclass(frozen=True, eq=False)
class SpaceTimeCube:
    """Counts of a field of cells (rows) over consecutive time bins (columns).

    Attributes
    ----------
    cells
        Sorted unique H3 cells (uint64) of the field.
    bins
        First day of each time bin (``datetime64[D]``), consecutive, empty bins included.
    counts
        ``(len(cells), len(bins))`` int64 counts, zeros included.
    freq
        ``"D"``, ``"W"`` (ISO weeks) or ``"M"``.
    """

    cells: NDArray[np.uint64]
    bins: NDArray[np.datetime64]
    counts: IntArray
    freq: str


def space_time_cube(
    cells: np.ndarray,
    times: Any,
    *,
    res: int,
    freq: Freq = "W",
    area_cells: np.ndarray | None = None,
    k: int = 1,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tz: str | None = None,
) -> SpaceTimeCube:
    """Count reports into cells × time bins.

    Parameters
    ----------
    cells, times
        Fine H3 cell (uint64, at ``res`` or finer) and time of each report.
    res
        Resolution of the cube's cells (parents by bit operations).
    freq
        ``"D"`` days, ``"W"`` ISO weeks (Monday to Sunday), ``"M"`` months.
    area_cells
        Cells of the study area at ``res``; the field is these plus every cell
        holding a report. Without an area, the field is the cells holding a
        report and their k-rings, so that each has its empty surroundings.
    k
        Only used to pad the field when ``area_cells`` is None.
    start, end
        First and last instant of the analysis: the cube runs from the bin of
        ``start`` to the bin of ``end``, both included, and reports outside are
        dropped. By default, from the first to the last report.
    tz
        Time zone whose calendar defines days, weeks and months (naive times
        are UTC); e.g. ``"Asia/Shanghai"``.
    """
    report_cells = np.asarray(cells, dtype=np.uint64).ravel()
    parents, bins = cells_and_bins(report_cells, times, res=res, freq=freq, tz=tz)
    return cube_of_counts(
        parents, bins, None, freq=freq, area_cells=area_cells, k=k, start=start, end=end, tz=tz
    )


def cells_and_bins(
    cells: np.ndarray, times: Any, *, res: int, freq: Freq, tz: str | None = None
) -> tuple[NDArray[np.uint64], IntArray]:
    """The cell at ``res`` and the time bin (in ``tz``'s calendar) of each report: the keys
    a space-time cube counts by, computable chunk by chunk (a map step on a cluster)."""
    report_cells = np.asarray(cells, dtype=np.uint64).ravel()
    local = as_datetime64(times, tz) if len(report_cells) else np.empty(0, "datetime64[ns]")
    if len(local) != len(report_cells):
        raise GeoInputError(f"{len(local)} times for {len(report_cells)} cells")
    if len(report_cells) and int(cell_resolutions(report_cells).min()) < res:
        raise GeoInputError(f"some cells are coarser than resolution {res}")
    return cells_to_parents(report_cells, res), time_bins(local, freq)


def cube_of_counts(
    cells: np.ndarray,
    bins: np.ndarray,
    counts: np.ndarray | None,
    *,
    freq: Freq = "W",
    area_cells: np.ndarray | None = None,
    k: int = 1,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tz: str | None = None,
) -> SpaceTimeCube:
    """The cube of reports already keyed by :func:`cells_and_bins`: ``counts`` reports
    (one each when None) in each (cell, bin); a pair may repeat, its counts add up. The
    other parameters are those of :func:`space_time_cube`."""
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    bins = np.asarray(bins, dtype=np.int64).ravel()
    first = int(time_bins(as_datetime64([start], tz), freq)[0]) if start is not None else None
    last = int(time_bins(as_datetime64([end], tz), freq)[0]) if end is not None else None
    if first is None or last is None:
        if len(bins) == 0:
            raise GeoInputError("no reports, and no start/end to define the time bins")
        first = int(bins.min()) if first is None else first
        last = int(bins.max()) if last is None else last
    if last < first:
        raise GeoInputError("end lies before start")
    keep = (bins >= first) & (bins <= last)
    parents = cells[keep]
    held = np.unique(parents)
    if area_cells is not None:
        field = np.union1d(np.asarray(area_cells, dtype=np.uint64), held).astype(np.uint64)
    else:
        field = grid_disks(held, k) if len(held) else held
    n_bins = last - first + 1
    row = np.searchsorted(field, parents)
    weights = None if counts is None else np.asarray(counts, dtype=np.float64).ravel()[keep]
    flat = np.bincount(
        row * n_bins + (bins[keep] - first), weights=weights, minlength=len(field) * n_bins
    )
    counts_out = flat.reshape(len(field), n_bins).astype(np.int64)  # float sums of ints: exact
    return SpaceTimeCube(
        cells=field,
        bins=bin_starts(np.arange(first, last + 1), freq),
        counts=counts_out,
        freq=freq,
    )


# --------------------------------------------------------------------------
# space-time Gi*
# --------------------------------------------------------------------------


def space_time_gi_star(
    cells: np.ndarray,
    counts: np.ndarray,
    *,
    k: int = 1,
    kernel: str = "uniform",
    time_window: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """Gi* z-scores and two-sided p-values of every bin of a space-time cube.

    The neighbourhood of bin (i, t) is every cell j of the k-ring of i within
    the field (i included, weight from the spatial ``kernel``) in bins
    t, t−1, …, t−``time_window`` that exist (weight 1 in time). The global
    mean and variance are those of the whole cube, with n = cells × bins:
    this is Gi* on the flattened cube with space-time weights (a test pins
    it to :func:`geo.hotspots.gi_star_weights` on the explicit matrix).
    """
    x = np.asarray(counts, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != len(cells):
        raise GeoInputError("counts must be a (cells, bins) array")
    if time_window < 0:
        raise GeoInputError("time_window must be >= 0")
    n_cells, n_bins = x.shape
    w = h3_weights(np.asarray(cells, dtype=np.uint64), k=k, kernel=kernel)
    spatial_lag = np.asarray(w @ x, dtype=np.float64)
    data = np.asarray(w.data, dtype=np.float64)
    row = np.repeat(np.arange(n_cells), np.diff(w.indptr))
    w_sum_s = np.bincount(row, weights=data, minlength=n_cells)
    w_sq_s = np.bincount(row, weights=data * data, minlength=n_cells)
    lag = spatial_lag.copy()
    for step in range(1, min(time_window, n_bins - 1) + 1):  # loop over time steps only
        lag[:, step:] += spatial_lag[:, :-step]
    steps = np.minimum(np.arange(n_bins), time_window) + 1.0  # bins in each time window
    n = x.size
    z = _gi_z(
        lag,
        w_sum_s[:, None] * steps[None, :],
        w_sq_s[:, None] * steps[None, :],
        float(x.mean()) if n else 0.0,
        float(x.std()) if n else 0.0,
        n,
    )
    return z, two_sided_p(z)


# --------------------------------------------------------------------------
# Mann-Kendall
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MannKendall:
    """Mann-Kendall trend test of each row of a (series, time) array.

    ``s`` is Kendall's S, ``var_s`` its variance with the correction for ties,
    ``z`` the continuity-corrected normal score, ``p`` its two-sided p-value
    and ``tau`` Kendall's tau-a (S over the number of pairs).
    """

    s: IntArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray


def mann_kendall(series: np.ndarray, *, decimals: int | None = 9) -> MannKendall:
    """Mann-Kendall test vectorised over rows (Mann 1945; Kendall 1975).

    S = Σ_{i<j} sign(x_j − x_i); Var(S) = [n(n−1)(2n+5) − Σ_g t_g(t_g−1)(2t_g+5)] / 18
    over groups g of t_g tied values; z = (S − sign(S)) / √Var(S); p two-sided.
    ``decimals`` rounds the values first so that equal values computed along
    different floating-point paths count as ties (None: no rounding).
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2:
        raise GeoInputError("series must be a 2-D (series, time) array")
    if decimals is not None:
        x = np.round(x, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    if x.shape[0] > 1 and x.shape[1] > 0:
        # many cells share one series (e.g. no report anywhere near them): test each
        # distinct series once; rows compare as raw bytes, which is exact for equality
        rows_as_bytes = np.ascontiguousarray(x).view(np.dtype((np.void, 8 * x.shape[1]))).ravel()
        _, first, inverse = np.unique(rows_as_bytes, return_index=True, return_inverse=True)
        if len(first) < 0.5 * x.shape[0]:
            distinct = _mann_kendall_rows(x[first])
            inverse = inverse.ravel()
            return MannKendall(
                s=distinct.s[inverse],
                var_s=distinct.var_s[inverse],
                z=distinct.z[inverse],
                p=distinct.p[inverse],
                tau=distinct.tau[inverse],
            )
    return _mann_kendall_rows(x)


def _mann_kendall_rows(x: FloatArray) -> MannKendall:
    rows, n = x.shape
    s = np.zeros(rows, dtype=np.int64)
    for lag in range(1, n):  # a loop over time lags, vectorised over series
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1).astype(np.int64)
    # ties: runs of equal values in each sorted row
    srt = np.sort(x, axis=1)
    ties: FloatArray = np.zeros(rows)
    if n > 1:
        new_group = np.ones((rows, n), dtype=bool)
        new_group[:, 1:] = srt[:, 1:] != srt[:, :-1]
        group_id = np.cumsum(new_group.ravel()) - 1
        sizes = np.bincount(group_id).astype(np.float64)
        group_row = np.repeat(np.arange(rows), n)[new_group.ravel()]
        tie_terms = sizes * (sizes - 1) * (2 * sizes + 5)
        ties = np.bincount(group_row, weights=tie_terms, minlength=rows).astype(np.float64)
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = np.zeros(rows)
    ok = var_s > 0
    z[ok] = (s[ok] - np.sign(s[ok])) / np.sqrt(var_s[ok])
    pairs = n * (n - 1) / 2
    tau = s / pairs if pairs else np.zeros(rows)
    return MannKendall(s=s, var_s=var_s, z=z, p=two_sided_p(z), tau=np.asarray(tau, np.float64))


# --------------------------------------------------------------------------
# classes
# --------------------------------------------------------------------------


def _trailing_run(flags: BoolArray) -> IntArray:
    """Length of the run of True at the end of each row."""
    n = flags.shape[1]
    if n == 0:
        return np.zeros(flags.shape[0], dtype=np.int64)
    first_false_from_end = np.argmax(~flags[:, ::-1], axis=1)
    return np.where(flags.all(axis=1), n, first_false_from_end).astype(np.int64)


def _family(
    own: BoolArray, other: BoolArray, rising: BoolArray, falling: BoolArray, kind: str
) -> NDArray[np.object_]:
    """Patterns of the locations whose final bin is significant of ``kind`` (hot/cold).

    ``own`` marks the significant bins of that kind, ``other`` those of the
    opposite kind; ``rising``/``falling`` are the significant trends towards
    more/less intense clustering of that kind.
    """
    rows, n = own.shape
    out = np.full(rows, "no_pattern", dtype=object)
    n_own = own.sum(axis=1)
    mostly = n_own >= PERSISTENT_SHARE * n
    run = _trailing_run(own)
    other_before = other[:, :-1].any(axis=1)
    out[mostly] = f"persistent_{kind}_spot"
    out[mostly & rising] = f"intensifying_{kind}_spot"
    out[mostly & falling] = f"diminishing_{kind}_spot"
    rest = ~mostly
    out[rest & other_before] = f"oscillating_{kind}_spot"
    fresh = rest & ~other_before
    out[fresh & (n_own == 1)] = f"new_{kind}_spot"
    out[fresh & (n_own > 1) & (run == n_own)] = f"consecutive_{kind}_spot"
    out[fresh & (n_own > 1) & (run < n_own)] = f"sporadic_{kind}_spot"
    return out


def classify_emerging(
    hot: ArrayLike,
    cold: ArrayLike,
    trend_z: ArrayLike,
    trend_p: ArrayLike,
    *,
    trend_alpha: float = 0.05,
) -> NDArray[np.object_]:
    """Emerging hot/cold spot pattern of each location (row) from its bins.

    ``hot``/``cold`` mark the statistically significant hot/cold bins of each
    location (columns in time order, the last one the final time step);
    ``trend_z``/``trend_p`` are the Mann-Kendall trend of its Gi* z-scores, and
    a trend is significant when ``trend_p <= trend_alpha``.

    The rules, after ESRI's "How Emerging Hot Spot Analysis works" (ArcGIS
    Pro), with "hot" meaning a statistically significant hot spot bin and
    n the number of time steps:

    - **New**: the final bin is hot, and it is the only hot bin ever.
    - **Consecutive**: a single uninterrupted run of at least two hot bins at
      the end; never hot before the run; fewer than 90 % of bins hot.
    - **Intensifying**: at least 90 % of bins hot, the final bin included; the
      z-scores rise (significant increasing trend).
    - **Persistent**: at least 90 % of bins hot, the final bin included; no
      significant trend.
    - **Diminishing**: at least 90 % of bins hot, the final bin included; the
      z-scores fall (significant decreasing trend).
    - **Sporadic**: the final bin hot; fewer than 90 % of bins hot; an
      on-again, off-again history (some hot bin before the final run); never
      a significant cold spot.
    - **Oscillating**: the final bin hot; fewer than 90 % of bins hot; a
      significant cold spot in some earlier bin.
    - **Historical**: the final bin not hot, but at least 90 % of bins hot.
    - **No pattern**: none of the above, hot or cold.

    The cold patterns mirror these with hot and cold swapped; for cold spots,
    intensifying means falling z-scores (colder) and diminishing rising ones.

    Where ESRI's wording leaves an overlap, we decide in this order (and say
    so): a location whose final bin is hot is classed in the hot family,
    whose final bin is cold in the cold family, otherwise historical hot,
    then historical cold, then no pattern. Within a family, the 90 % patterns
    come first; below 90 %, a prior significant bin of the other kind makes
    it Oscillating even if it would otherwise be New or Consecutive (ESRI's
    New and Consecutive do not mention earlier cold spots; a cold spot
    turning hot is what Oscillating describes).
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    if hot.shape != cold.shape or hot.ndim != 2:
        raise GeoInputError("hot and cold must be (locations, bins) arrays of one shape")
    rows, n = hot.shape
    out = np.full(rows, "no_pattern", dtype=object)
    if n == 0:
        return out
    tz = np.asarray(trend_z, dtype=np.float64)
    significant = np.asarray(trend_p, dtype=np.float64) <= trend_alpha
    up = significant & (tz > 0)
    down = significant & (tz < 0)
    out[hot.sum(axis=1) >= PERSISTENT_SHARE * n] = "historical_hot_spot"  # final bin not hot
    cold_history = (cold.sum(axis=1) >= PERSISTENT_SHARE * n) & (out == "no_pattern")
    out[cold_history] = "historical_cold_spot"
    final_cold = cold[:, -1]
    out[final_cold] = _family(cold, hot, down, up, "cold")[final_cold]
    final_hot = hot[:, -1]
    out[final_hot] = _family(hot, cold, up, down, "hot")[final_hot]
    return out


# --------------------------------------------------------------------------
# the whole analysis
# --------------------------------------------------------------------------


def significant_bins(
    z: np.ndarray, p: np.ndarray, *, alpha: float = 0.10, fdr: bool = True
) -> tuple[BoolArray, BoolArray]:
    """Hot and cold bins of a (cells, bins) array of z-scores and p-values.

    With ``fdr`` the p-values of each time step (column) are
    Benjamini–Hochberg corrected across the cells of that step, as a hot spot
    map of that step would be.
    """
    p_used = fdr_bh(p, axis=0) if fdr else np.asarray(p, dtype=np.float64)
    sig = p_used <= alpha
    z = np.asarray(z)
    return sig & (z > 0), sig & (z < 0)


def emerging_hotspots(
    cells: np.ndarray,
    times: Any,
    *,
    res: int,
    freq: Freq = "W",
    k: int = 1,
    time_window: int = 1,
    area_cells: np.ndarray | None = None,
    kernel: str = "uniform",
    alpha: float = 0.10,
    fdr: bool = True,
    trend_alpha: float = 0.05,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    tz: str | None = None,
) -> pd.DataFrame:
    """ArcGIS-style emerging hot spot pattern of every cell of the field.

    Parameters
    ----------
    cells, times
        Fine H3 cell (uint64) and time of each report (filter by category first).
    res, freq, area_cells, start, end, tz
        The space-time cube (see :func:`space_time_cube`).
    k, kernel, time_window
        Space-time neighbourhood: k-ring, spatial kernel, previous bins.
    alpha, fdr
        A bin is significant when its (FDR-corrected, per time step) p-value
        is at most ``alpha``; 0.10 (90 % confidence) by default.
    trend_alpha
        Significance level of the Mann-Kendall trend.

    Returns
    -------
    pandas.DataFrame
        One row per cell of the field: ``cell`` (H3 string), ``pattern`` (key
        of :data:`EMERGING_PATTERNS`), ``label``, ``trend_z``, ``trend_p``,
        ``trend_tau``, ``hot_bins``, ``cold_bins``, ``n_bins``, ``final_bin_z``,
        ``final_bin_p`` (uncorrected), ``count`` (reports in the cube).
    """
    cube = space_time_cube(
        cells, times, res=res, freq=freq, area_cells=area_cells, k=k, start=start, end=end, tz=tz
    )
    return emerging_from_cube(
        cube,
        k=k,
        kernel=kernel,
        time_window=time_window,
        alpha=alpha,
        fdr=fdr,
        trend_alpha=trend_alpha,
    )


def emerging_from_cube(
    cube: SpaceTimeCube,
    *,
    k: int = 1,
    kernel: str = "uniform",
    time_window: int = 1,
    alpha: float = 0.10,
    fdr: bool = True,
    trend_alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`emerging_hotspots` on a cube that is already built."""
    z, p = space_time_gi_star(cube.cells, cube.counts, k=k, kernel=kernel, time_window=time_window)
    hot, cold = significant_bins(z, p, alpha=alpha, fdr=fdr)
    mk = mann_kendall(z)
    pattern = classify_emerging(hot, cold, mk.z, mk.p, trend_alpha=trend_alpha)
    labels = np.asarray([EMERGING_PATTERNS[key] for key in EMERGING_PATTERNS], dtype=object)
    keys = list(EMERGING_PATTERNS)
    codes = pd.Categorical(pattern, categories=keys).codes
    n_bins = z.shape[1]
    return pd.DataFrame(
        {
            "cell": cells_to_strings(cube.cells),
            "pattern": pattern,
            "label": labels[codes],
            "trend_z": mk.z,
            "trend_p": mk.p,
            "trend_tau": mk.tau,
            "hot_bins": hot.sum(axis=1),
            "cold_bins": cold.sum(axis=1),
            "n_bins": np.full(len(cube.cells), n_bins, dtype=np.int64),
            "final_bin_z": z[:, -1] if n_bins else np.zeros(len(cube.cells)),
            "final_bin_p": p[:, -1] if n_bins else np.ones(len(cube.cells)),
            "count": cube.counts.sum(axis=1),
        }
    )


__all__ = [
    "EMERGING_PATTERNS",
    "Freq",
    "MannKendall",
    "SpaceTimeCube",
    "bin_starts",
    "cells_and_bins",
    "classify_emerging",
    "cube_of_counts",
    "emerging_from_cube",
    "emerging_hotspots",
    "mann_kendall",
    "significant_bins",
    "space_time_cube",
    "space_time_gi_star",
    "time_bins",
]
