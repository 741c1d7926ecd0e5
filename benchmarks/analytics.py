"""gridwatch analytics benchmarks, in one run: aggregation, Gi*, the map page.

- Counting 1,000,000 reports per H3 cell (res 9), against what a user would
  otherwise write: a GeoDataFrame of points, ``h3.latlng_to_cell`` per point,
  ``groupby``. Ours from the stored res-12 cell (parents by bit operations,
  as the service does) and from raw lat/lon (h3ronpy over the arrays).
- Getis-Ord Gi* on about 100,000 cells (k = 1) against ``esda.G_Local``
  (analytic, ``transform="B", star=True``) on the same neighbours; the
  z-scores must agree.
- The hot-spot map page of the whole sample city at resolution 8 and 9:
  size (raw and gzip), time to build it, and time until headless Chromium
  has drawn every hexagon layer (inline SVG, inline canvas, fetched canvas).

Run: ``.venv/bin/python benchmarks/analytics.py [--out FILE]``. Uses
``data_samples/generated`` (the full sample city), or builds it into a
temporary directory when it is absent. Timings are the best of three.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geo.aggregate import complete_field, counts_per_cell, study_area_cells  # noqa: E402
from geo.h3cells import grid_disks, latlng_to_cells  # noqa: E402
from geo.h3neighbours import grid_disk_pairs  # noqa: E402
from geo.hotspots import gi_star, hotspot_table  # noqa: E402
from geo.maps import pages as maps  # noqa: E402
from grids.samples import build_sample_city  # noqa: E402

N_REPORTS = 1_000_000
GI_CELLS_K = 182  # a k-ring of radius 182 is 99,919 cells
CHROMIUM = "/usr/bin/chromium"
ROWS: list[tuple[str, str, str, str]] = []


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(workload: str, what: str, result: str, compared: str) -> None:
    ROWS.append((workload, what, result, compared))
    print(f"  {workload} | {what} | {result} | {compared}", flush=True)


@contextmanager
def sample_city() -> Iterator[Path]:
    generated = REPO / "data_samples" / "generated"
    if (generated / "reports.parquet").exists() and (generated / "city.gpkg").exists():
        yield generated
        return
    with tempfile.TemporaryDirectory() as tmp:
        print("building the sample city (data_samples/generated is absent)...", flush=True)
        build_sample_city(Path(tmp))
        yield Path(tmp)


# --------------------------------------------------------------------------
# 1. aggregation
# --------------------------------------------------------------------------


def aggregation(reports: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(reports), N_REPORTS)
    lat = reports["lat"].to_numpy()[pick] + rng.normal(0, 0.002, N_REPORTS)
    lon = reports["lon"].to_numpy()[pick] + rng.normal(0, 0.002, N_REPORTS)
    stored = latlng_to_cells(lat, lon, 12)  # what every case keeps
    workload = f"{N_REPORTS:,} reports → counts per res-9 cell"

    def baseline() -> pd.Series:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
        points["cell"] = [
            h3.latlng_to_cell(y, x, 9)
            for x, y in zip(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), strict=True)
        ]
        return points.groupby("cell").size()

    t_base = best_of(baseline)
    t_stored = best_of(lambda: counts_per_cell(stored, 9))
    t_raw = best_of(lambda: counts_per_cell(latlng_to_cells(lat, lon, 9), 9))
    want = baseline()
    cells, counts = counts_per_cell(latlng_to_cells(lat, lon, 9), 9)
    same = pd.Series(counts, index=[h3.int_to_str(int(c)) for c in cells]).sort_index()
    agree = same.equals(want.sort_index().astype(same.dtype))
    parent_cells, _ = counts_per_cell(stored, 9)
    moved = float(np.mean(h3_parent_differs(stored, lat, lon)))
    row(
        workload,
        "counts_per_cell from stored res-12 cells (bit-op parents)",
        f"{t_stored:.3f} s",
        f"**{t_base / t_stored:.0f}×** baseline",
    )
    row(
        workload,
        "counts_per_cell from lat/lon (h3ronpy, vectorised)",
        f"{t_raw:.3f} s",
        f"**{t_base / t_raw:.0f}×** baseline",
    )
    row(
        workload,
        "baseline: GeoDataFrame + h3.latlng_to_cell per point + groupby",
        f"{t_base:.3f} s",
        "1.0×",
    )
    row(
        workload,
        "agreement",
        f"lat/lon path = baseline: {agree} ({len(cells):,} cells)",
        f"{moved:.2%} of reports have a res-12 parent ≠ their res-9 cell "
        f"({len(parent_cells):,} cells)",
    )


def h3_parent_differs(stored: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """H3 children are not exactly inside their parent: how often the two paths differ."""
    from geo.h3cells import cells_to_parents

    return np.asarray(cells_to_parents(stored, 9) != latlng_to_cells(lat, lon, 9))


# --------------------------------------------------------------------------
# 2. Gi*
# --------------------------------------------------------------------------


def gi_benchmark(reports: pd.DataFrame) -> None:
    import esda
    import libpysal

    centre = latlng_to_cells(np.array([22.95]), np.array([113.85]), 9)
    field = grid_disks(centre, GI_CELLS_K)
    held, counts = counts_per_cell(
        latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), 12), 9
    )
    field, values = complete_field(field, held, counts)
    workload = f"Gi* on {len(field):,} res-9 cells, k = 1"
    t_ours = best_of(lambda: gi_star(field, values, k=1))

    def esda_w() -> libpysal.weights.W:
        pairs = grid_disk_pairs(field, 1)
        neighbours: dict[int, list[int]] = {i: [] for i in range(len(field))}
        for r, c in zip(pairs.row.tolist(), pairs.col.tolist(), strict=True):
            neighbours[r].append(c)
        return libpysal.weights.W(neighbours, silence_warnings=True)

    start = time.perf_counter()
    w = esda_w()
    t_w = time.perf_counter() - start
    y = values.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_esda = best_of(
            lambda: esda.G_Local(y, w, transform="B", star=True, permutations=0), repeat=2
        )
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    ours = gi_star(field, values, k=1)
    diff = float(np.max(np.abs(ours.z - ref.Zs)))
    row(
        workload,
        "geo.hotspots.gi_star (weights from the cells included)",
        f"{t_ours:.3f} s",
        f"**{t_esda / t_ours:.0f}×** esda",
    )
    row(
        workload,
        "esda.G_Local (analytic, given W)",
        f"{t_esda:.3f} s",
        f"+ {t_w:.1f} s to build the libpysal W",
    )
    row(workload, "agreement", f"max abs(z − z_esda) = {diff:.1e}", f"{len(field):,} z-scores")


# --------------------------------------------------------------------------
# 3. the map page
# --------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@contextmanager
def serve(root: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def render_in_chromium(base: str, pages: list[str], layers: int) -> dict[str, float]:
    """Seconds from navigation to every hexagon layer drawn (best of three, cold cache)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        for name in pages:
            times = []
            for _ in range(3):
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                page = context.new_page()
                page.route(
                    "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
                )
                start = time.perf_counter()
                page.goto(f"{base}/{name}", wait_until="commit")
                page.wait_for_function(
                    f"(window.gridwatchLayersLoaded || 0) >= {layers}", timeout=120_000
                )
                page.evaluate(
                    "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
                )
                times.append(time.perf_counter() - start)
                context.close()
            out[name] = min(times)
        browser.close()
    return out


def map_pages(city: Path, reports: pd.DataFrame) -> None:
    towns = gpd.read_file(city / "city.gpkg", layer="towns")
    area = shapely.MultiPolygon(
        list(shapely.get_parts(gpd.read_file(city / "city.gpkg", layer="grids").geometry.values))
    )
    fine = latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), 12)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "static").symlink_to(REPO / "api" / "static", target_is_directory=True)
        variants: list[tuple[str, int, str, str]] = []
        for res in (8, 9):
            start = time.perf_counter()
            held, counts = counts_per_cell(fine, res)
            field, values = complete_field(study_area_cells(area, res), held, counts)
            table = hotspot_table(field, values, k=1)
            t_stats = time.perf_counter() - start
            kinds = [("inline", None, maps.CANVAS_ABOVE)]
            if res == 9:
                kinds = [
                    ("inline SVG", None, 10**9),
                    ("inline canvas", None, maps.CANVAS_ABOVE),
                    ("fetched canvas", f"/data{res}.geojson", maps.CANVAS_ABOVE),
                ]
            for label, url, canvas_above in kinds:
                start = time.perf_counter()
                options = maps.MapOptions(basemap="none", canvas_above=canvas_above)
                page = maps.render_html(
                    maps.hotspot_map(table, options=options, towns=towns, data_url=url)
                )
                t_page = time.perf_counter() - start
                name = f"res{res}-{label.replace(' ', '-')}.html"
                (root / name).write_text(page, encoding="utf-8")
                extra = ""
                if url is not None:
                    data = maps.cells_geojson(table["cell"], maps.hotspot_properties(table))
                    (root / url.lstrip("/")).write_text(data, encoding="utf-8")
                    extra = (
                        f" + data {len(data) / 1e6:.1f} MB "
                        f"({len(gzip.compress(data.encode(), 5)) / 1e6:.1f} MB gzip)"
                    )
                size = len(page.encode())
                gz = len(gzip.compress(page.encode(), 5))
                variants.append(
                    (
                        name,
                        len(table),
                        label,
                        (
                            f"page {size / 1e6:.2f} MB ({gz / 1e6:.2f} MB gzip){extra}; "
                            f"statistics {t_stats:.2f} s, page {t_page:.2f} s"
                        ),
                    )
                )
        with serve(root) as base:
            timings = render_in_chromium(base, [v[0] for v in variants], layers=3)
    for name, cells, label, detail in variants:
        res = name[3]
        row(
            f"hot-spot map, whole sample city, res {res} ({cells:,} cells)",
            f"{label}: drawn in headless Chromium",
            f"{timings[name]:.2f} s",
            detail,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--skip-browser", action="store_true", help="no map rendering")
    args = parser.parse_args()
    with sample_city() as city:
        reports = pd.read_parquet(city / "reports.parquet")
        print(f"sample city: {len(reports):,} reports", flush=True)
        aggregation(reports)
        gi_benchmark(reports)
        if not args.skip_browser:
            map_pages(city, reports)
    table = ["| workload | what | result | compared |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in ROWS]
    text = "\n".join(table)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
