"""gridwatch benchmarks: CellMap.locate against geopandas.sjoin and PostGIS, in one run.

Run with ``make bench``. Prints a Markdown table (the README's) and writes it
to ``benchmarks/results.md``. Each timing is the best of several runs on the
same points; every comparison also checks that the answers agree.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geo.cellmap import CellMap  # noqa: E402
from grids.db import make_engine, session_factory, transaction, upgrade_schema  # noqa: E402
from grids.samples import build_sample_city  # noqa: E402
from grids.samples.load import load_sample_city  # noqa: E402

POSTGIS = "postgresql+psycopg://@/gridwatch_test?host=/var/run/postgresql"
N_POINTS = 1_000_000
ROWS: list[tuple[str, str, str, str]] = []


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def jittered(
    lat: np.ndarray, lon: np.ndarray, n: int, sigma: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points drawn from real or sample reports, moved by a little noise."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(lat), n)
    return lat[pick] + rng.normal(0, sigma, n), lon[pick] + rng.normal(0, sigma, n)


def compare_batch(
    name: str, polygons: gpd.GeoDataFrame, id_col: str, lat: np.ndarray, lon: np.ndarray
) -> None:
    """CellMap.locate against geopandas.sjoin on the same points; answers must agree."""
    ids = polygons[id_col].to_numpy()
    start = time.perf_counter()
    cellmap = CellMap.build(polygons.geometry.values, ids)
    build_s = time.perf_counter() - start
    ours = cellmap.locate(lat, lon)
    t_ours = best_of(lambda: cellmap.locate(lat, lon))
    t_ours_1 = best_of(lambda: cellmap.locate(lat, lon, threads=1))
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    joined = gpd.sjoin(points, polygons[[id_col, "geometry"]], predicate="intersects", how="left")
    layers = polygons[[id_col, "geometry"]]
    # the baseline is the faster of sjoin's default predicate and "within"
    t_sjoin, predicate = min(
        (best_of(lambda p=p: gpd.sjoin(points, layers, predicate=p, how="left")), p)
        for p in ("intersects", "within")
    )
    first = joined[~joined.index.duplicated(keep="first")]
    theirs = first[id_col].to_numpy(dtype=object)
    covered = np.isin(ours.match_names(), ["inside", "edge"])
    mine = np.where(ours.index >= 0, ids[np.maximum(ours.index, 0)], None)
    on_edges = joined.index.duplicated().sum()
    agree = int(np.sum(mine[covered] == theirs[covered]))
    uncovered_agree = bool(pd.isna(theirs[~covered]).all())
    label = f"{name}: {len(lat):,} points, {len(polygons):,} polygons (res {cellmap.res})"
    ROWS.append(
        (
            label,
            "CellMap.locate (2 threads)",
            f"{t_ours:.3f} s",
            f"**{t_sjoin / t_ours:.1f}×** sjoin",
        )
    )
    ROWS.append(
        (
            label,
            "CellMap.locate (1 thread)",
            f"{t_ours_1:.3f} s",
            f"{t_sjoin / t_ours_1:.1f}× sjoin",
        )
    )
    ROWS.append((label, f"geopandas.sjoin ({predicate}, the faster)", f"{t_sjoin:.3f} s", "1.0×"))
    ROWS.append(
        (
            label,
            "agreement",
            f"{agree:,} / {int(covered.sum()):,} covered points identical",
            f"{int((~covered).sum()):,} uncovered in both: {uncovered_agree}; "
            f"{int((ours.match_names() == 'snapped').sum()):,} snapped; {on_edges} on shared edges",
        )
    )
    ROWS.append(
        (label, "CellMap.build (once, then cached)", f"{build_s:.1f} s", str(cellmap.stats()))
    )
    print(
        f"{label}: locate {t_ours:.3f}s, sjoin {t_sjoin:.3f}s, agree {agree}/{covered.sum()}",
        flush=True,
    )


def one_point_latency(
    grids: gpd.GeoDataFrame, lat: np.ndarray, lon: np.ndarray, city_dir: Path
) -> None:
    """Median latency of one-point locate against a PostGIS ST_Covers query on the same grids."""
    cellmap = CellMap.build(grids.geometry.values, grids.code.to_numpy())
    pairs = list(zip(lat[:20_000].tolist(), lon[:20_000].tolist(), strict=True))
    for a, b in pairs[:1000]:
        cellmap.locate_one(a, b)
    samples = []
    for a, b in pairs:
        start = time.perf_counter_ns()
        cellmap.locate_one(a, b)
        samples.append(time.perf_counter_ns() - start)
    ours_us = statistics.median(samples) / 1000

    schema = "bench_onepoint"
    engine = make_engine(POSTGIS)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    engine = make_engine(POSTGIS + f"&options=-csearch_path%3D{schema},public")
    upgrade_schema(engine)
    with transaction(session_factory(engine)) as session:
        load_sample_city(session, city_dir, REPO / "data_samples" / "taxonomy.toml")
    engine.dispose()
    query = (
        f"SELECT code FROM {schema}.units WHERE level = 'grid' AND "
        "ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) ORDER BY code LIMIT 1"
    )
    with psycopg.connect(
        "host=/var/run/postgresql dbname=gridwatch_test", prepare_threshold=0
    ) as conn:
        cur = conn.cursor()
        for a, b in pairs[:200]:
            cur.execute(query, (b, a))
        pg = []
        agree = 0
        for a, b in pairs[:2000]:
            start = time.perf_counter_ns()
            cur.execute(query, (b, a))
            row = cur.fetchone()
            pg.append(time.perf_counter_ns() - start)
            found = cellmap.locate_one(a, b)
            agree += (row[0] if row else None) == (
                cellmap.ids[found[0]] if found[1] in ("inside", "edge") else None
            )
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    pg_us = statistics.median(pg) / 1000
    label = f"one point, sample city ({len(grids):,} grids)"
    ROWS.append(
        (
            label,
            "CellMap.locate_one, median",
            f"{ours_us:.1f} µs",
            f"**{pg_us / ours_us:.0f}×** PostGIS",
        )
    )
    ROWS.append(
        (
            label,
            "PostGIS ST_Covers (GiST, prepared), median",
            f"{pg_us:.1f} µs",
            f"{agree} / 2000 agree",
        )
    )
    print(
        f"one point: ours {ours_us:.1f} µs, PostGIS {pg_us:.1f} µs, agree {agree}/2000", flush=True
    )


def main() -> None:
    city_dir = REPO / "data_samples" / "generated"
    if not (city_dir / "city.gpkg").exists():
        city_dir = Path(tempfile.mkdtemp()) / "city"
        build_sample_city(city_dir)
    grids = gpd.read_file(city_dir / "city.gpkg", layer="grids")
    grids["geometry"] = shapely.make_valid(grids.geometry.values)
    reports = pd.read_parquet(city_dir / "reports.parquet")
    lat, lon = jittered(reports.lat.to_numpy(), reports.lon.to_numpy(), N_POINTS, 0.003, 1)
    compare_batch("sample city", grids, "code", lat, lon)

    sf_dir = REPO / "data_samples" / "sf311"
    tracts = gpd.read_file(sf_dir / "sf_census_tracts_2010.geojson")
    nhoods = tracts.dissolve("nhood").reset_index()[["nhood", "geometry"]]
    cases = pd.read_csv(sf_dir / "sf311_cases_sample.csv")
    compare_batch("SF 311 cases", nhoods, "nhood", cases.Lat.to_numpy(), cases.Long.to_numpy())
    sf_lat, sf_lon = jittered(cases.Lat.to_numpy(), cases.Long.to_numpy(), N_POINTS, 0.002, 2)
    compare_batch("SF, resampled", nhoods, "nhood", sf_lat, sf_lon)

    one_point_latency(grids, reports.lat.to_numpy(), reports.lon.to_numpy(), city_dir)

    table = ["| workload | what | result | compared |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in ROWS]
    text_out = "\n".join(table) + "\n"
    print("\n" + text_out)
    (REPO / "benchmarks" / "results.md").write_text(text_out)


if __name__ == "__main__":
    main()
