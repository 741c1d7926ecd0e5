"""Gi* on H3 k-rings: pinned to PySAL's esda, to brute force, to scipy's FDR and to ArcGIS's bins."""

from __future__ import annotations

import importlib.util
import warnings

import esda
import h3
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from geo.errors import GeoInputError
from geo.h3cells import grid_disks, latlng_to_cells
from geo.h3neighbours import NeighbourPairs, grid_disk_pairs, ij_distance, ij_offsets
from geo.hotspots import (
    KERNELS,
    class_labels,
    classify,
    fdr_bh,
    gi_star,
    gi_star_weights,
    h3_weights,
    hotspot_table,
    kernel_weights,
)

CENTRE = latlng_to_cells(np.array([23.02]), np.array([113.75]), 9)


def _field_with_cluster(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About 3,000 cells with holes; counts mostly zero plus a planted cluster."""
    rng = np.random.default_rng(seed)
    disk = grid_disks(CENTRE, 34)
    field = rng.permutation(disk)[: int(len(disk) * 0.85)]  # holes: missing neighbours
    counts = rng.poisson(0.4, len(field))  # mostly zeros
    cluster = np.isin(
        field, grid_disks(latlng_to_cells(np.array([23.03]), np.array([113.76]), 9), 2)
    )
    counts[cluster] += rng.poisson(6, cluster.sum())
    return field, counts, cluster


def _esda_w(field: np.ndarray, k: int) -> libpysal.weights.W:
    """libpysal W from the same k-ring neighbours, the cell itself included
    (esda keeps a non-zero diagonal as the Gi* self weight when star=True)."""
    pairs = grid_disk_pairs(field, k)
    neighbours: dict[int, list[int]] = {i: [] for i in range(len(field))}
    for r, c in zip(pairs.row.tolist(), pairs.col.tolist(), strict=True):
        neighbours[r].append(c)
    return libpysal.weights.W(neighbours, silence_warnings=True)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_uniform_gi_star_equals_esda_g_local(k: int) -> None:
    field, counts, _ = _field_with_cluster()
    assert len(field) > 2500 and (counts == 0).mean() > 0.5
    w = _esda_w(field, k)
    assert all(i in w.neighbors[i] for i in range(len(field)))  # self weight present
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(counts.astype(float), w, transform="B", star=True, permutations=0)
    ours = gi_star(field, counts, k=k)
    np.testing.assert_allclose(ours.z, ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.p, 2 * ref.p_norm, rtol=0, atol=1e-12)


def test_matches_carto_documented_example() -> None:
    """CARTO's GETIS_ORD_H3 doc example (three far-apart cells, k=3, gaussian): each
    cell only sees itself, which pins the z formula and the population S."""
    cells = np.array(
        [h3.str_to_int(c) for c in ("89394460323ffff", "89394460c37ffff", "89394460077ffff")],
        dtype=np.uint64,
    )
    got = gi_star(cells, np.array([51.0, 28.0, 19.0]), k=3, kernel="gaussian")
    want = [1.3606194139870573, -0.34633948719670526, -1.0142799267903515]
    np.testing.assert_allclose(got.z, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("k", [1, 3])
def test_kernels_equal_brute_force(kernel: str, k: int) -> None:
    rng = np.random.default_rng(11)
    disk = grid_disks(CENTRE, 8)
    field = rng.permutation(disk)[: int(len(disk) * 0.8)]
    x = rng.poisson(2.0, len(field)).astype(float)
    names = [h3.int_to_str(int(c)) for c in field]
    d = np.array([[h3.grid_distance(a, b) for b in names] for a in names])
    u = d / (k + 1)
    dense = {
        "uniform": np.ones_like(u),
        "triangular": 1 - u,
        "quadratic": 1 - u**2,
        "quartic": (1 - u**2) ** 2,
        "gaussian": np.exp(-0.5 * (d / k) ** 2),
    }[kernel] * (d <= k)
    n = len(x)
    s = x.std()
    sw, sw2 = dense.sum(1), (dense**2).sum(1)
    want = (dense @ x - x.mean() * sw) / (s * np.sqrt((n * sw2 - sw**2) / (n - 1)))
    np.testing.assert_allclose(gi_star(field, x, k=k, kernel=kernel).z, want, atol=1e-10)
    assert np.all(kernel_weights(np.arange(k + 1), k, kernel) > 0)  # ring k still counts


def test_weights_and_rejections() -> None:
    w = h3_weights(grid_disks(CENTRE, 2), k=1)
    assert np.all(w.diagonal() == 1) and w.shape == (19, 19)
    assert (w != w.T).nnz == 0
    with pytest.raises(GeoInputError, match="kernel"):
        kernel_weights(np.array([1]), 1, "epanechnikov")
    with pytest.raises(GeoInputError, match="k must"):
        h3_weights(grid_disks(CENTRE, 1), k=0)
    with pytest.raises(GeoInputError, match="values"):
        gi_star(grid_disks(CENTRE, 1), np.ones(3))
    with pytest.raises(ValueError, match="unique"):
        gi_star(np.repeat(CENTRE, 2), np.ones(2))
    mixed = np.concatenate([CENTRE, latlng_to_cells(np.array([23.0]), np.array([113.7]), 8)])
    with pytest.raises(ValueError, match="one resolution"):
        gi_star(mixed, np.ones(2))


def test_constant_field_is_not_significant() -> None:
    field = grid_disks(CENTRE, 3)
    for value in (0.0, 4.0):
        g = gi_star(field, np.full(len(field), value))
        assert np.all(g.z == 0) and np.all(g.p == 1)


# --- neighbours: the local-IJ fast path equals h3ronpy k-rings ------------------------


def _canonical(pairs: NeighbourPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((pairs.col, pairs.row))
    return pairs.row[order], pairs.col[order], pairs.distance[order]


def _near_base_cell_vertices(rng: np.random.Generator) -> list[tuple[float, float]]:
    points = []
    for cell in h3.get_res0_cells()[::4]:
        for lat, lon in h3.cell_to_boundary(cell)[:2]:
            points.append((lat + rng.normal(0, 0.2), lon + rng.normal(0, 0.2)))
    for pentagon in [c for c in h3.get_res0_cells() if h3.is_pentagon(c)]:
        clat, clon = h3.cell_to_latlng(pentagon)
        vlat, vlon = h3.cell_to_boundary(pentagon)[0]
        if abs(vlon - clon) < 90:
            points.append((clat + (vlat - clat) * 1.1, clon + (vlon - clon) * 1.1))
    return points


def test_local_ij_neighbours_equal_h3_k_rings() -> None:
    rng = np.random.default_rng(2024)
    fast = multi_base = 0
    for lat, lon in [(23.02, 113.75), *_near_base_cell_vertices(rng)]:
        res = int(rng.integers(5, 11))
        field = grid_disks(latlng_to_cells(np.array([lat]), np.array([lon]), res), 18)
        field = rng.permutation(field)[: int(len(field) * rng.uniform(0.4, 1.0))]
        for k in (1, 3):
            exact = _canonical(grid_disk_pairs(field, k, method="h3"))
            auto = _canonical(grid_disk_pairs(field, k))
            for a, b in zip(exact, auto, strict=True):
                np.testing.assert_array_equal(a, b)
            try:
                ij = _canonical(grid_disk_pairs(field, k, method="ij"))
            except ValueError:
                continue
            fast += 1
            multi_base += len(np.unique(field >> np.uint64(45))) > 1
            for a, b in zip(exact, ij, strict=True):
                np.testing.assert_array_equal(a, b)
    assert fast > 40 and multi_base > 10  # the fast path was really exercised across base cells


def test_ij_offsets_are_h3_grid_distances() -> None:
    di, dj, d = ij_offsets(4)
    assert len(d) == 1 + 3 * 4 * 5
    assert np.array_equal(ij_distance(di, dj), d)
    anchor = h3.int_to_str(int(CENTRE[0]))
    ai, aj = h3.cell_to_local_ij(anchor, anchor)
    for cell in h3.grid_disk(anchor, 4):
        ci, cj = h3.cell_to_local_ij(anchor, cell)
        assert ij_distance(np.array(ci - ai), np.array(cj - aj)) == h3.grid_distance(anchor, cell)


def test_pentagon_fields_take_the_exact_path() -> None:
    pentagon = h3.str_to_int(h3.get_pentagons(7)[0])
    field = grid_disks(np.array([pentagon], dtype=np.uint64), 5)
    with pytest.raises(ValueError, match="local IJ"):
        grid_disk_pairs(field, 1, method="ij")
    pairs = grid_disk_pairs(field, 1)
    assert np.bincount(pairs.row)[np.flatnonzero(field == pentagon)[0]] == 6  # 5 + itself


# --- FDR and classes --------------------------------------------------------------------


def test_fdr_bh_equals_scipy() -> None:
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(0, 1, 900), rng.uniform(0, 0.001, 100), [0.5, 0.5, 0.0, 1.0]])
    np.testing.assert_allclose(fdr_bh(p), stats.false_discovery_control(p, method="bh"))
    grid = rng.uniform(0, 0.2, (40, 7))
    per_column = fdr_bh(grid, axis=0)
    for j in range(7):
        np.testing.assert_allclose(
            per_column[:, j], stats.false_discovery_control(grid[:, j], method="bh")
        )
    with_nan = np.array([0.01, np.nan, 0.02, 0.5])
    got = fdr_bh(with_nan)
    assert np.isnan(got[1])
    np.testing.assert_allclose(got[[0, 2, 3]], stats.false_discovery_control([0.01, 0.02, 0.5]))


def _arcgis_critical_p(p: np.ndarray, alpha: float) -> float:
    """The BH step-up critical p-value for one confidence level, as ArcGIS describes it."""
    ranked = np.sort(p)
    m = len(p)
    passing = np.flatnonzero(ranked <= alpha * np.arange(1, m + 1) / m)
    return float(ranked[passing[-1]]) if len(passing) else -1.0


def test_classes_follow_arcgis_bins_with_and_without_fdr() -> None:
    field, counts, _cluster = _field_with_cluster()
    g = gi_star(field, counts, k=1)
    raw_bins, raw_labels = classify(g.z, g.p, fdr=False)
    expected_raw = np.select([g.p <= 0.01, g.p <= 0.05, g.p <= 0.10], [3, 2, 1], 0) * np.sign(g.z)
    np.testing.assert_array_equal(raw_bins, expected_raw)
    bins, labels = classify(g.z, g.p)
    critical = {a: _arcgis_critical_p(g.p, a) for a in (0.01, 0.05, 0.10)}
    expected = np.select(
        [g.p <= critical[0.01], g.p <= critical[0.05], g.p <= critical[0.10]], [3, 2, 1], 0
    ) * np.sign(g.z)
    np.testing.assert_array_equal(bins, expected)
    assert np.count_nonzero(bins) < np.count_nonzero(raw_bins)  # FDR is stricter
    names = class_labels()
    assert names[3] == "Hot Spot - 99% Confidence" and names[-1] == "Cold Spot - 90% Confidence"
    assert names[0] == "Not Significant"
    assert [names[int(b)] for b in bins[:50]] == labels[:50].tolist()
    assert set(raw_labels.tolist()) <= set(names.values())


def test_planted_cluster_is_a_hot_spot_at_99_percent() -> None:
    field, counts, cluster = _field_with_cluster()
    core = np.isin(field, grid_disks(latlng_to_cells(np.array([23.03]), np.array([113.76]), 9), 1))
    for k in (1, 2, 3):
        g = gi_star(field, counts, k=k)
        bins, labels = classify(g.z, g.p)
        assert np.all(bins[core] == 3), k
        assert set(labels[core].tolist()) == {"Hot Spot - 99% Confidence"}
        # away from the cluster, only a stray noise cell or two (sparse counts, see below)
        far = ~np.isin(field, grid_disks(field[cluster], k + 1))
        assert np.count_nonzero(bins[far] > 0) <= 2, k


@pytest.mark.parametrize("lam", [3.0, 10.0])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_pure_noise_yields_almost_no_hot_spots(lam: float, k: int) -> None:
    """A field of independent Poisson counts has no hot spot: every discovery is false.

    What is guaranteed, and what we check:

    - The analytic p-values are calibrated in the bulk: without correction
      about 5 % of cells have p <= 0.05 (we check 3.5-6.5 % averaged over seeds).
    - Benjamini–Hochberg at level q bounds the *expected share of false
      discoveries among the discoveries*; under pure noise every discovery is
      false, so the bound reads P(any discovery) <= q — provided the p-values
      are valid in the far tail, where BH's threshold lies (about q/m). The
      normal approximation of Gi* for Poisson counts is slightly
      anti-conservative there (the local sums are right-skewed), so that bound
      holds only approximately: in our runs 5-15 % of noise fields have one or
      two cells at 95 % with k = 1 (nominal 5 %), fewer with larger k or
      counts, and far more for very sparse counts (mean 0.2: most fields).
    - What does hold by a wide margin, and is asserted: the share of cells
      classed hot or cold at 95 % with FDR stays below 0.1 % on average
      (the issue's bar is 5 %), and at 90 % below 0.2 %.
    """
    field = grid_disks(CENTRE, 31)  # 2,977 cells
    raw, share95, share90 = [], [], []
    for seed in range(12):
        counts = np.random.default_rng(seed).poisson(lam, len(field))
        g = gi_star(field, counts, k=k)
        bins, _ = classify(g.z, g.p, fdr=True)
        raw.append(np.mean(g.p <= 0.05))
        share95.append(np.mean(np.abs(bins) >= 2))
        share90.append(np.mean(np.abs(bins) >= 1))
    assert 0.035 <= np.mean(raw) <= 0.065
    assert np.mean(share95) < 0.001
    assert np.mean(share90) < 0.002


def test_conditional_permutations_agree_with_esda() -> None:
    field = grid_disks(CENTRE, 18)
    rng = np.random.default_rng(4)
    counts = rng.poisson(1.0, len(field)).astype(float)
    counts[:25] += 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(
            counts, _esda_w(field, 1), transform="B", star=True, permutations=999, seed=1, n_jobs=1
        )
    ours = gi_star(field, counts, k=1, permutations=999, seed=1)
    assert ours.p_sim is not None
    assert np.mean(np.abs(ours.p_sim - ref.p_sim)) < 0.03  # two Monte Carlo estimates
    assert np.corrcoef(ours.p_sim, ref.p_sim)[0, 1] > 0.97
    assert np.all((ours.p_sim >= 1 / 1000) & (ours.p_sim <= 0.5 + 1e-9))
    if importlib.util.find_spec("numba") is None:  # esda's NumPy path: the same draws
        larger = np.rint(ours.p_sim * 1000), np.rint(np.asarray(ref.p_sim, float) * 1000)
        assert np.array_equal(*larger)  # every cell's count of larger draws (esda: float32)
    again = gi_star(field, counts, k=1, permutations=999, seed=1)
    assert again.p_sim is not None and np.array_equal(again.p_sim, ours.p_sim)


def test_gi_star_weights_accepts_any_sparse_matrix() -> None:
    field, counts, _ = _field_with_cluster()
    w = h3_weights(field, k=2, kernel="triangular")
    via_cells = gi_star(field, counts, k=2, kernel="triangular")
    via_coo = gi_star_weights(sp.coo_matrix(w), counts)
    np.testing.assert_allclose(via_cells.z, via_coo.z, atol=1e-12)


def test_hotspot_table_columns() -> None:
    field, counts, _ = _field_with_cluster()
    table = hotspot_table(field, counts, k=2, kernel="gaussian")
    assert list(table.columns) == ["cell", "count", "gi_z", "gi_p", "gi_p_fdr", "gi_bin", "class"]
    assert len(table) == len(field)
    assert table["cell"].tolist()[:3] == [h3.int_to_str(int(c)) for c in field[:3]]
    assert table["gi_bin"].between(-3, 3).all()
    assert (table["gi_p_fdr"] >= table["gi_p"] - 1e-15).all()
    assert (table.loc[table["gi_bin"] == 3, "class"] == "Hot Spot - 99% Confidence").all()
    with_sim = hotspot_table(field[:400], counts[:400], permutations=99, seed=0)
    assert "gi_p_sim" in with_sim.columns
