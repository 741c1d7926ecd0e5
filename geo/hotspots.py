"""Getis-Ord Gi* hot spots on H3 k-ring neighbourhoods, with FDR and ArcGIS-style classes.

The neighbourhood of a cell is its k-ring *within the field* (the cell itself
included: the "star" of Gi*); cells of the ring that are not in the field are
ignored. The field should be complete (zeros included, see
:func:`geo.aggregate.complete_field`), otherwise the empty cells around a
cluster are silently missing and every z-score is biased.

Everything is one sparse weight matrix (scipy CSR) built from the k-ring
pairs of :mod:`geo.h3neighbours`, and a few vector operations on it.

References
----------
Getis, A. and Ord, J. K. (1992), The analysis of spatial association by use of
distance statistics, Geographical Analysis 24(3). Ord, J. K. and Getis, A.
(1995), Local spatial autocorrelation statistics: distributional issues and an
application, Geographical Analysis 27(4). Benjamini, Y. and Hochberg, Y.
(1995), Controlling the false discovery rate, JRSS B 57(1). ESRI, "Hot Spot
Analysis (Getis-Ord Gi*)" (ArcGIS Pro tool reference: Gi_Bin field and the
Apply False Discovery Rate (FDR) Correction parameter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3ronpy
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy import special

from geo.errors import GeoInputError
from geo.h3neighbours import grid_disk_pairs

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Kernels of the CARTO Analytics Toolbox ``GETIS_ORD_H3`` (see :func:`kernel_weights`).
KERNELS = ("uniform", "triangular", "quadratic", "quartic", "gaussian")
#: Significance levels of the ArcGIS Gi_Bin classes: 99 %, 95 %, 90 % confidence.
ALPHA_LEVELS = (0.01, 0.05, 0.10)


def kernel_weights(distance: np.ndarray, k: int, kernel: str = "uniform") -> FloatArray:
    """Weight of a neighbour at grid distance ``distance`` in a k-ring of size ``k``.

    The kernels are the ones the CARTO Analytics Toolbox offers for
    ``GETIS_ORD_H3(input, size, kernel)`` — uniform, triangular, quadratic,
    quartic and gaussian — whose documentation points to the standard kernel
    functions (Wikipedia, "Kernel (statistics)") without stating the bandwidth.
    We use, with d the grid distance:

    - uniform: ``1``
    - triangular: ``1 - d / (k + 1)``
    - quadratic (Epanechnikov): ``1 - (d / (k + 1))**2``
    - quartic (biweight): ``(1 - (d / (k + 1))**2)**2``
    - gaussian: ``exp(-0.5 * (d / k)**2)``

    The bandwidth ``k + 1`` of the compact kernels keeps the outermost ring at
    a positive weight (with bandwidth ``k`` it would weigh zero and the k-ring
    would silently be a (k-1)-ring). The kernels' constant factors (1/2, 3/4,
    15/16, 1/sqrt(2π)) are dropped: Gi* z-scores are unchanged when a row of
    weights is multiplied by a constant.
    """
    if kernel not in KERNELS:
        raise GeoInputError(f"unknown kernel {kernel!r}; use one of {', '.join(KERNELS)}")
    d = np.asarray(distance, dtype=np.float64)
    if kernel == "uniform":
        return np.ones_like(d)
    if kernel == "gaussian":
        return np.asarray(np.exp(-0.5 * (d / max(k, 1)) ** 2))
    u = d / (k + 1)
    if kernel == "triangular":
        return 1.0 - u
    if kernel == "quadratic":
        return 1.0 - u**2
    return (1.0 - u**2) ** 2  # quartic


def h3_weights(cells: np.ndarray, *, k: int = 1, kernel: str = "uniform") -> sp.csr_array:
    """Sparse n×n spatial weights of a field of H3 cells: the k-ring of each
    cell within the field, the cell itself included (weight at distance 0)."""
    if k < 1:
        raise GeoInputError(f"k must be at least 1, got {k}")
    pairs = grid_disk_pairs(np.asarray(cells, dtype=np.uint64), k)
    data = kernel_weights(pairs.distance, k, kernel)
    index_type = pairs.col.dtype if len(pairs.col) < 2**31 - 1 else np.int64
    indptr = np.zeros(pairs.n + 1, dtype=index_type)
    np.cumsum(np.bincount(pairs.row, minlength=pairs.n), out=indptr[1:])
    return sp.csr_array((data, pairs.col, indptr), shape=(pairs.n, pairs.n))


@dataclass(frozen=True, eq=False)
class GiStar:
    """Gi* of every cell of a field.

    Attributes
    ----------
    z
        Standardised Gi* (Ord & Getis 1995); positive = clustering of high values.
    p
        Two-sided p-value of ``z`` under the standard normal.
    p_sim
        Pseudo p-value from conditional permutations (esda's "directed" rule:
        one-sided towards the tail the observation lies in), or None.
    """

    z: FloatArray
    p: FloatArray
    p_sim: FloatArray | None = None


def _gi_z(
    lag: np.ndarray, w_sum: np.ndarray, w_sq_sum: np.ndarray, mean: float, sd: float, n: int
) -> FloatArray:
    """The Gi* z-score from a spatial lag and the row sums of w and w².

    z_i = (Σ_j w_ij x_j − x̄ Σ_j w_ij) / (S √((n Σ_j w_ij² − (Σ_j w_ij)²) / (n − 1))),
    S² = Σ x² / n − x̄² (the population variance). Undefined cases (a constant
    field, or a neighbourhood that is the whole field) get z = 0.
    """
    spread = (n * w_sq_sum - w_sum**2) / max(n - 1, 1)
    denom = sd * np.sqrt(np.maximum(spread, 0.0))
    num = lag - mean * w_sum
    # rounding can leave a tiny positive spread where it is exactly zero
    ok = (sd > 0) & (spread > 1e-9 * w_sum**2 / max(n - 1, 1))
    z = np.zeros(np.shape(lag), dtype=np.float64)
    np.divide(num, denom, out=z, where=ok)
    return z


def _row_sums(w: sp.csr_array, values: FloatArray) -> FloatArray:
    """Sum of ``values`` (aligned with ``w.data``) over each row of a CSR matrix."""
    indptr = np.asarray(w.indptr, dtype=np.int64)
    out = np.zeros(len(indptr) - 1)
    filled = np.diff(indptr) > 0
    if filled.any():
        out[filled] = np.add.reduceat(values[: indptr[-1]], indptr[:-1][filled])
    return out


def two_sided_p(z: np.ndarray) -> FloatArray:
    """Two-sided p-value of standard-normal z-scores (``ndtr`` is what
    ``scipy.stats.norm.sf`` evaluates, without its per-call overhead)."""
    return np.asarray(2.0 * special.ndtr(-np.abs(z)), dtype=np.float64)


def _conditional_permutations(
    w: sp.csr_array, x: FloatArray, lag: FloatArray, permutations: int, seed: int | None
) -> FloatArray:
    """esda-style conditional randomisation of the Gi* lag.

    Cell i keeps its own value; its neighbours' values are replaced by values
    drawn without replacement from the other n − 1 cells. As in esda, one draw
    of positions per permutation is shared by all cells (each cell skips
    itself), which keeps every cell's null distribution exact and the work
    vectorised over cells.

    The draws follow esda's seed semantics (``esda.crand.vec_permutations``
    without numba): a legacy ``RandomState(seed)``, then
    ``choice(n - 1, max_card, replace=False)`` per permutation, so for binary
    weights the p-values equal ``esda.G_Local(..., permutations, seed)``'s
    ``p_sim`` exactly (with numba, esda draws from numba's own generator).
    """
    n = len(x)
    coo = w.tocoo()
    row = np.asarray(coo.row, dtype=np.int64)
    col = np.asarray(coo.col, dtype=np.int64)
    data = np.asarray(coo.data, dtype=np.float64)
    self_w = np.zeros(n)
    is_self = row == col
    self_w[row[is_self]] = data[is_self]
    row, data = row[~is_self], data[~is_self]
    order = np.argsort(row, kind="stable")
    row, data = row[order], data[order]
    card = np.bincount(row, minlength=n)
    max_card = int(card.max()) if n else 0
    if max_card == 0 or n < 2:
        return np.ones(n)
    start = np.cumsum(card) - card
    slot = np.arange(len(row)) - start[row]
    dense_w = np.zeros((n, max_card))
    dense_w[row, slot] = data
    if max_card > n - 1:
        raise GeoInputError("a neighbourhood is larger than the rest of the field")
    rng = np.random.RandomState(seed)
    own = np.arange(n)[:, None]
    base = self_w * x
    larger = np.zeros(n, dtype=np.int64)
    for _ in range(permutations):  # one vectorised pass over all cells per permutation
        draw = rng.choice(n - 1, size=max_card, replace=False)[None, :]
        idx = draw + (draw >= own)  # skip the cell itself
        sim = base + np.einsum("ij,ij->i", dense_w, x[idx])
        larger += sim >= lag - 1e-12 * np.abs(lag)
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return np.asarray((larger + 1.0) / (permutations + 1.0))


def gi_star_weights(
    w: sp.sparray | sp.spmatrix,
    values: np.ndarray,
    *,
    permutations: int = 0,
    seed: int | None = None,
) -> GiStar:
    """Gi* for any sparse weights ``w`` that include the diagonal (self weights).

    This is the engine behind :func:`gi_star`; it is public so that other
    neighbourhoods (space-time, grids) run the very same formula.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    n = len(x)
    w = sp.csr_array(w)
    if w.shape != (n, n):
        raise GeoInputError(f"weights of shape {w.shape} for {n} values")
    if not np.all(np.isfinite(x)):
        raise GeoInputError("values must be finite numbers")
    mean = float(x.mean()) if n else 0.0
    sd = float(x.std()) if n else 0.0  # population S of Getis & Ord
    lag = np.asarray(w @ x, dtype=np.float64)
    data = np.asarray(w.data, dtype=np.float64)
    w_sum = _row_sums(w, data)
    w_sq_sum = _row_sums(w, data * data)
    z = _gi_z(lag, w_sum, w_sq_sum, mean, sd, n)
    p_sim = None
    if permutations > 0:
        p_sim = _conditional_permutations(w, x, lag, permutations, seed)
    return GiStar(z=z, p=two_sided_p(z), p_sim=p_sim)


def gi_star(
    cells: np.ndarray,
    values: np.ndarray,
    *,
    k: int = 1,
    kernel: str = "uniform",
    permutations: int = 0,
    seed: int | None = None,
) -> GiStar:
    """Getis-Ord Gi* of each cell of a field on its k-ring neighbourhood.

    Parameters
    ----------
    cells
        The field: unique H3 cells (uint64) at one resolution; should be
        complete (zero cells included).
    values
        One value per cell (e.g. counts).
    k
        Size of the k-ring (1..3 is usual).
    kernel
        ``uniform``, ``triangular``, ``quadratic``, ``quartic`` or ``gaussian``
        (see :func:`kernel_weights`).
    permutations
        If > 0, also compute esda-style conditional-permutation p-values.
    seed
        Seed of the permutations.

    Notes
    -----
    With the uniform kernel this is exactly PySAL's
    ``esda.G_Local(y, w, transform="B", star=True)`` on the same neighbours
    (``tests/geo/test_hotspots.py`` pins the two together).

    The p-value ``p`` uses the normal approximation of Gi*, as ArcGIS, CARTO
    and esda do. For sparse counts (most cells zero) the local sums are
    right-skewed and the far upper tail is heavier than normal: a single
    report in an otherwise empty neighbourhood can reach a large z. The
    classes are then slightly too generous with hot spots (and FDR control is
    only approximate); conditional permutations (``permutations``) give
    p-values that do not rely on the approximation.
    """
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    values = np.asarray(values).ravel()
    if len(cells) != len(values):
        raise GeoInputError(f"{len(values)} values for {len(cells)} cells")
    w = h3_weights(cells, k=k, kernel=kernel)
    return gi_star_weights(w, values, permutations=permutations, seed=seed)


def fdr_bh(p: ArrayLike, axis: int | None = None) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values.

    ``p_adj ≤ q`` is exactly the set the BH step-up procedure rejects at false
    discovery rate q: the largest rank i with p_(i) ≤ i q / m and every smaller
    p-value. With ``axis=None`` all p-values form one family; with an axis,
    each slice along it is a family of its own (e.g. one per time step).
    NaN p-values are not tests: they stay NaN and do not count in m.
    """
    arr = np.asarray(p, dtype=np.float64)
    if axis is None:
        flat = arr.ravel()
        out = np.full(flat.shape, np.nan)
        ok = ~np.isnan(flat)
        out[ok] = _bh_1d(flat[ok])
        return out.reshape(arr.shape)
    moved = np.moveaxis(arr, axis, -1)
    out = np.full(moved.shape, np.nan)
    if np.isnan(moved).any():
        for index in np.ndindex(moved.shape[:-1]):  # rare: NaNs break the vector path
            row = moved[index]
            ok = ~np.isnan(row)
            res = np.full(row.shape, np.nan)
            res[ok] = _bh_1d(row[ok])
            out[index] = res
    else:
        out = _bh_last_axis(moved)
    return np.moveaxis(out, -1, axis)


def _bh_1d(p: FloatArray) -> FloatArray:
    return _bh_last_axis(p[None, :])[0] if len(p) else p.copy()


def _bh_last_axis(p: FloatArray) -> FloatArray:
    m = p.shape[-1]
    if m == 0:
        return p.copy()
    if np.any((p < 0) | (p > 1)):
        raise GeoInputError("p-values must lie in [0, 1]")
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    out = np.empty_like(ranked)
    np.put_along_axis(out, order, np.minimum(ranked, 1.0), axis=-1)
    return out


def class_labels(alpha_levels: Sequence[float] = ALPHA_LEVELS) -> dict[int, str]:
    """ArcGIS Gi_Bin → label, e.g. ``3 → "Hot Spot - 99% Confidence"``."""
    levels = sorted(alpha_levels)
    out = {0: "Not Significant"}
    for i, a in enumerate(levels):
        b = len(levels) - i
        conf = f"{(1 - a) * 100:g}% Confidence"
        out[b] = f"Hot Spot - {conf}"
        out[-b] = f"Cold Spot - {conf}"
    return out


def classify(
    z: ArrayLike,
    p: ArrayLike,
    *,
    fdr: bool = True,
    alpha_levels: Sequence[float] = ALPHA_LEVELS,
) -> tuple[NDArray[np.int8], NDArray[np.object_]]:
    """ArcGIS Pro Hot Spot Analysis bins (Gi_Bin) and their labels.

    Gi_Bin is +3/+2/+1 for hot spots at 99/95/90 % confidence, −1/−2/−3 for
    cold spots at 90/95/99 %, and 0 for not significant; the sign is the sign
    of z.

    Without FDR, a cell is in bin ±b when its two-sided p-value is at most the
    level of that bin (0.01, 0.05, 0.10). With FDR (the default, as in the
    issue), we do what ArcGIS describes for its "Apply False Discovery Rate
    (FDR) Correction" option: for each confidence level separately, the
    critical p-value is lowered by the Benjamini–Hochberg step-up rule over
    all cells of the field (both tails together, since the p-values are
    two-sided); a cell is significant at a level when its p-value is at most
    that level's critical value. That is the same as comparing the
    BH-adjusted p-value (:func:`fdr_bh`) with 0.01, 0.05 and 0.10, which is
    what this function does.
    """
    z = np.asarray(z, dtype=np.float64)
    p_used = fdr_bh(p) if fdr else np.asarray(p, dtype=np.float64)
    levels = sorted(alpha_levels)
    bins = np.zeros(z.shape, dtype=np.int8)
    for i, a in reversed(list(enumerate(levels))):  # loosest level first, strictest wins
        bins[p_used <= a] = len(levels) - i
    bins = (bins * np.sign(z)).astype(np.int8)
    labels = class_labels(levels)
    lut = np.array([labels[b] for b in range(-len(levels), len(levels) + 1)], dtype=object)
    return bins, lut[bins.astype(np.int64) + len(levels)]


def cells_to_strings(cells: np.ndarray) -> NDArray[np.object_]:
    """H3 cells (uint64) as their hexadecimal strings, vectorised through h3ronpy."""
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    strings = h3ronpy.cells_to_string(pa.array(cells))
    return np.asarray(pa.array(strings).to_pylist(), dtype=object)


def hotspot_table(
    cells: np.ndarray,
    counts: np.ndarray,
    *,
    k: int = 1,
    kernel: str = "uniform",
    fdr: bool = True,
    permutations: int = 0,
    seed: int | None = None,
) -> pd.DataFrame:
    """One row per cell of the field: ``cell`` (H3 string), ``count``, ``gi_z``,
    ``gi_p``, ``gi_p_fdr``, ``gi_bin``, ``class`` (and ``gi_p_sim`` with permutations).

    ``gi_p`` is never corrected; ``gi_p_fdr`` is its Benjamini–Hochberg
    adjustment; ``gi_bin``/``class`` use the corrected values when ``fdr``.
    With ``permutations`` (permutation inference), ``gi_p_sim`` is esda's
    one-sided pseudo p-value and the classes (and ``gi_p_fdr``) come from
    the two-sided pseudo p-value ``min(1, 2 gi_p_sim)`` instead of ``gi_p``.
    """
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    counts = np.asarray(counts).ravel()
    gi = gi_star(cells, counts, k=k, kernel=kernel, permutations=permutations, seed=seed)
    p = gi.p if gi.p_sim is None else np.minimum(1.0, 2.0 * gi.p_sim)
    bins, labels = classify(gi.z, p, fdr=fdr)
    table = pd.DataFrame(
        {
            "cell": cells_to_strings(cells),
            "count": counts,
            "gi_z": gi.z,
            "gi_p": gi.p,
            "gi_p_fdr": fdr_bh(p),
            "gi_bin": bins,
            "class": labels,
        }
    )
    if gi.p_sim is not None:
        table["gi_p_sim"] = gi.p_sim
    return table


__all__ = [
    "ALPHA_LEVELS",
    "KERNELS",
    "GiStar",
    "cells_to_strings",
    "class_labels",
    "classify",
    "fdr_bh",
    "gi_star",
    "gi_star_weights",
    "h3_weights",
    "hotspot_table",
    "kernel_weights",
    "two_sided_p",
]
