"""Seeded generator of the sample city: Dongguan's real towns, synthetic everything else.

`build_sample_city` writes plain files (GeoPackage, CSV, Parquet, JSON) that the
importer loads into the store, so the demo, the notebooks and the tests all run
on one reproducible city without a database or network access.  Geometry is
built here; people/rosters live in `people.py` and reports/hotspots in
`reports.py`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from grids.samples.people import build_people
from grids.samples.reports import (
    M_PER_DEG_LAT,
    M_PER_DEG_LON,
    PERIOD_END,
    PERIOD_START,
    ReportStats,
    build_reports,
    load_categories,
    random_points_in,
)
from grids.samples.sources import TAXONOMY, TOWNS, bundled_dir

GENERATOR_VERSION = "1.1.0"
DEFAULT_SEED = 20261122
DEFAULT_TOWNS_PATH = bundled_dir() / TOWNS
DEFAULT_TAXONOMY_PATH = bundled_dir() / TAXONOMY

#: The service's demo query point (lat 23.02, lon 113.75, in 南城街道).
DEMO_LAT = 23.02
DEMO_LON = 113.75
#: Density of grids decays with the distance from this city centre.
CENTRE_LON = 113.75
CENTRE_LAT = 23.02

M2_PER_DEG2 = M_PER_DEG_LAT * M_PER_DEG_LON
#: Pieces smaller than this are merged into a neighbour or dropped.
MIN_PIECE_M2 = 100.0
#: Longest edge of a generated (Voronoi) boundary.
SEGMENT_M = 250.0

#: Grids per km² at urban factor 1 at the city centre (calibrated for ~3,000 grids).
GRID_DENSITY_K = 1.55
DECAY_KM = 15.0

Geom = BaseGeometry
ProgressFn = Callable[[str, float], None]
FloatArray = NDArray[np.float64]

#: Pinyin names of the 35 towns, streets and zones, keyed by the source `name`.
TOWN_NAMES_EN: dict[str, str] = {
    "茶山镇": "Chashan Town",
    "常平镇": "Changping Town",
    "大朗镇": "Dalang Town",
    "大岭山镇": "Dalingshan Town",
    "道滘镇": "Daojiao Town",
    "东城街道": "Dongcheng Subdistrict",
    "东莞生态园": "Dongguan Eco-Park",
    "东坑镇": "Dongkeng Town",
    "凤岗镇": "Fenggang Town",
    "高埗镇": "Gaobu Town",
    "莞城街道": "Guancheng Subdistrict",
    "横沥镇": "Hengli Town",
    "洪梅镇": "Hongmei Town",
    "厚街镇": "Houjie Town",
    "虎门镇": "Humen Town",
    "虎门港管委会": "Humen Port",
    "黄江镇": "Huangjiang Town",
    "寮步镇": "Liaobu Town",
    "麻涌镇": "Machong Town",
    "南城街道": "Nancheng Subdistrict",
    "企石镇": "Qishi Town",
    "桥头镇": "Qiaotou Town",
    "清溪镇": "Qingxi Town",
    "沙田镇": "Shatian Town",
    "石碣镇": "Shijie Town",
    "石龙镇": "Shilong Town",
    "石排镇": "Shipai Town",
    "松山湖管委会": "Songshan Lake",
    "塘厦镇": "Tangxia Town",
    "万江街道": "Wanjiang Subdistrict",
    "望牛墩镇": "Wangniudun Town",
    "谢岗镇": "Xiegang Town",
    "樟木头镇": "Zhangmutou Town",
    "长安镇": "Chang'an Town",
    "中堂镇": "Zhongtang Town",
}

#: How urban a town is (multiplies its grid density); unlisted towns are 1.0.
URBAN_FACTOR: dict[str, float] = {
    "莞城街道": 4.0,
    "东城街道": 3.0,
    "南城街道": 3.0,
    "万江街道": 2.5,
    "长安镇": 2.2,
    "虎门镇": 2.0,
    "塘厦镇": 2.0,
    "厚街镇": 1.4,
    "常平镇": 1.3,
    "寮步镇": 1.3,
    "凤岗镇": 1.3,
    "石龙镇": 1.5,
    "大朗镇": 1.2,
    "松山湖管委会": 0.6,
    "东莞生态园": 0.5,
    "虎门港管委会": 0.5,
}
#: Subdistricts (街道) have only communities (社区), no villages (村).
SUBDISTRICTS = frozenset(n for n in TOWN_NAMES_EN if n.endswith("街道"))

# Syllables of generated village/community names, with pinyin.
_NAME_FIRST: dict[str, str] = {
    "上": "Shang", "下": "Xia", "新": "Xin", "东": "Dong", "西": "Xi", "南": "Nan",
    "北": "Bei", "大": "Da", "小": "Xiao", "长": "Chang", "石": "Shi", "塘": "Tang",
    "沙": "Sha", "龙": "Long", "凤": "Feng", "金": "Jin", "水": "Shui", "桥": "Qiao",
    "黄": "Huang", "白": "Bai", "横": "Heng", "鳌": "Ao", "鹤": "He", "松": "Song",
    "竹": "Zhu", "莲": "Lian", "桂": "Gui", "梅": "Mei", "榕": "Rong", "花": "Hua",
}  # fmt: skip
_NAME_SECOND: dict[str, str] = {
    "元": "yuan", "岭": "ling", "田": "tian", "边": "bian", "头": "tou", "围": "wei",
    "坑": "keng", "湖": "hu", "洲": "zhou", "岗": "gang", "美": "mei", "安": "an",
    "和": "he", "兴": "xing", "丰": "feng", "涌": "chong", "朗": "lang", "江": "jiang",
    "埔": "pu", "园": "yuan", "塘": "tang", "山": "shan", "坪": "ping", "溪": "xi",
    "村": "cun", "基": "ji", "沥": "li", "厦": "xia", "冲": "chong", "岸": "an",
}  # fmt: skip


@dataclass(frozen=True)
class SampleCityManifest:
    """What was built, from what and how: written as manifest.json and returned."""

    seed: int
    scale: float
    generator_version: str
    build_date: str
    source_file: str
    source_sha256: str
    taxonomy_sha256: str
    period_start: str
    period_end: str
    demo_lat: float
    demo_lon: float
    demo_grid_code: str
    outside_share: float
    outside_max_m: float
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TownPlan:
    """Per-town sizes; a pure function of the source file so tests can check counts."""

    code: str
    name: str
    owned: Geom
    communities: int
    grids: int


# --------------------------------------------------------------------------
# small geometry helpers
# --------------------------------------------------------------------------


def area_m2(geoms: Geom | Sequence[Geom] | NDArray[np.object_]) -> FloatArray:
    """Approximate metric area of lon/lat geometries (good to ~0.5% in Dongguan)."""
    return np.asarray(shapely.area(geoms), dtype=np.float64) * M2_PER_DEG2


def polygonal(geom: Geom | None, min_m2: float = 0.0) -> Geom | None:
    """Keep only the polygonal parts (≥ min_m2) of a geometry, made valid."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in polys for q in shapely.get_parts(p)]
    if min_m2 > 0:
        polys = [p for p in polys if area_m2(p) >= min_m2]
    if not polys:
        return None
    if len(polys) == 1:
        return polys[0]
    return shapely.MultiPolygon(polys)


def _density_weight(x: FloatArray, y: FloatArray) -> FloatArray:
    """Relative grid density: decays with distance from the city centre."""
    dx = (x - CENTRE_LON) * M_PER_DEG_LON / 1000.0
    dy = (y - CENTRE_LAT) * M_PER_DEG_LAT / 1000.0
    d_km = np.hypot(dx, dy)
    return 0.35 + 0.65 * np.exp(-d_km / DECAY_KM)


def sample_points(
    rng: np.random.Generator,
    area: Geom,
    n: int,
    weight: Callable[[FloatArray, FloatArray], FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """n random points inside `area`, density ∝ `weight` (rejection, vectorised)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    got = 0
    frac = max(float(area_m2(area)) / ((maxx - minx) * (maxy - miny) * M2_PER_DEG2), 1e-3)
    while got < n:
        m = int((n - got) / frac * 1.5) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(area, x, y)
        if weight is not None:
            keep &= rng.random(m) < weight(x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def serpentine_order(x: FloatArray, y: FloatArray) -> NDArray[np.intp]:
    """Reading order in latitude bands, alternating direction, so consecutive codes are
    neighbours (officer sharing and human browsing both rely on it)."""
    n = len(x)
    if n <= 1:
        return np.arange(n)
    bands = max(1, round(math.sqrt(n / 2)))
    lo, hi = float(y.min()), float(y.max())
    band = np.minimum(((hi - y) / max(hi - lo, 1e-12) * bands).astype(np.int64), bands - 1)
    key_x = np.where(band % 2 == 0, x, -x)
    return np.lexsort((key_x, band))


def partition(area: Geom, x: FloatArray, y: FloatArray) -> list[Geom | None]:
    """Split `area` into Voronoi cells of the seeds (one piece per seed, in seed order).

    Voronoi runs on x scaled by cos(lat) so cells are round on the ground; cells are
    clipped to the area, made valid, and slivers (< MIN_PIECE_M2) are merged into the
    neighbour they share most with (or dropped when isolated), so pieces never overlap
    and cover the area except dropped slivers.  A seed whose piece vanished gets None.
    """
    n = len(x)
    if n == 1:
        return [polygonal(area, MIN_PIECE_M2)]
    kx = M_PER_DEG_LON / M_PER_DEG_LAT
    minx, miny, maxx, maxy = area.bounds
    pad = max(maxx - minx, maxy - miny) + 0.01
    env = shapely.box((minx - pad) * kx, miny - pad, (maxx + pad) * kx, maxy + pad)
    pts = shapely.multipoints(np.column_stack([x * kx, y]))
    cells = np.asarray(
        shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=env, ordered=True))
    )
    cells = shapely.transform(cells, lambda c: c / np.array([kx, 1.0]))
    # short edges stay (nearly) straight in any projection, so shared boundaries with
    # extra vertices from finer levels do not open tiny overlaps/gaps after reprojection
    cells = shapely.segmentize(cells, SEGMENT_M / M_PER_DEG_LAT)
    clipped = shapely.intersection(cells, area)
    return absorb_slivers([polygonal(c) for c in clipped])


def absorb_slivers(pieces: list[Geom | None]) -> list[Geom | None]:
    """Merge every polygon part smaller than MIN_PIECE_M2 into its best neighbour."""
    owners: list[int] = []
    parts: list[Geom] = []
    for i, p in enumerate(pieces):
        if p is None:
            continue
        for q in shapely.get_parts(p):
            owners.append(i)
            parts.append(q)
    if not parts:
        return pieces
    parr = np.asarray(parts, dtype=object)
    own = np.asarray(owners)
    small = area_m2(parr) < MIN_PIECE_M2
    if not small.any():
        return pieces
    big_idx = np.flatnonzero(~small)
    tree = shapely.STRtree(parr[big_idx])
    extra: dict[int, list[Geom]] = {}
    for j in np.flatnonzero(small):
        grown = shapely.buffer(parr[j], 1e-6)
        cand = tree.query(grown)
        if len(cand) == 0:
            continue
        shared = shapely.area(shapely.intersection(grown, parr[big_idx[cand]]))
        best = int(np.argmax(shared))
        if shared[best] <= 0:
            continue
        extra.setdefault(int(own[big_idx[cand[best]]]), []).append(parr[j])
    out: list[Geom | None] = [None] * len(pieces)
    for i in range(len(pieces)):
        mine = list(parr[big_idx[own[big_idx] == i]]) + extra.get(i, [])
        if not mine:
            continue
        merged = mine[0] if len(mine) == 1 else shapely.union_all(mine)
        out[i] = polygonal(merged)
    return out


# --------------------------------------------------------------------------
# towns and their plan
# --------------------------------------------------------------------------


def read_towns(towns_path: Path) -> gpd.GeoDataFrame:
    """Source towns with codes DG01.. in source order and their English names."""
    src = gpd.read_file(towns_path)
    if src.crs is not None and src.crs.to_epsg() != 4326:
        src = src.to_crs(4326)
    unknown = sorted(set(src["name"]) - set(TOWN_NAMES_EN))
    if unknown:
        raise ValueError(f"towns without an English name in TOWN_NAMES_EN: {unknown}")
    return gpd.GeoDataFrame(
        {
            "code": [f"DG{i + 1:02d}" for i in range(len(src))],
            "name": src["name"].to_list(),
            "name_en": [TOWN_NAMES_EN[n] for n in src["name"]],
        },
        geometry=src.geometry.to_list(),
        crs="EPSG:4326",
    )


def owned_areas(geoms: Sequence[Geom]) -> list[Geom]:
    """Each town minus the towns before it: overlaps go to the earlier town."""
    arr = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(arr)
    out: list[Geom] = []
    for i, g in enumerate(arr):
        earlier = [int(j) for j in tree.query(g, predicate="intersects") if j < i]
        owned = g if not earlier else shapely.difference(g, shapely.union_all(arr[earlier]))
        piece = polygonal(owned, MIN_PIECE_M2)
        if piece is None:
            raise ValueError(f"town {i} is entirely covered by earlier towns")
        out.append(piece)
    return out


def plan_towns(towns: gpd.GeoDataFrame, scale: float = 1.0) -> list[TownPlan]:
    """Grid and community counts per town: the count formula of the generator.

    grids = K · area_km² · urban factor · decay(distance of the town's centre),
    communities = grids / 7 clipped to 10..30; both shrink with `scale`.
    """
    owned = owned_areas(list(towns.geometry))
    plans: list[TownPlan] = []
    for code, name, geom in zip(towns["code"], towns["name"], owned, strict=True):
        c = geom.centroid
        km2 = float(area_m2(geom)) / 1e6
        dens = float(_density_weight(np.array([c.x]), np.array([c.y]))[0])
        n_g = round(GRID_DENSITY_K * km2 * URBAN_FACTOR.get(name, 1.0) * dens)
        n_c = int(np.clip(round(n_g / 7), 10, 30))
        n_g = max(n_g, 2 * n_c)
        if scale != 1.0:
            n_c = max(1, round(n_c * math.sqrt(scale)))
            n_g = max(2 * n_c, round(n_g * scale))
        plans.append(TownPlan(code, name, geom, n_c, n_g))
    return plans


def expected_grid_count(towns_path: Path | None = None, scale: float = 1.0) -> int:
    """Planned number of grids (the generator's count formula; actual may differ by a
    few when tiny cells are merged away)."""
    towns = read_towns(towns_path or DEFAULT_TOWNS_PATH)
    return sum(p.grids for p in plan_towns(towns, scale))


def _pinyin_join(a: str, b: str) -> str:
    """Join syllables, with an apostrophe before a vowel-initial one (Chang'an)."""
    return f"{a}'{b}" if b[0] in "aeo" else a + b


def community_names(rng: np.random.Generator, town_name: str, n: int) -> list[tuple[str, str]]:
    """n unique (Chinese, English) names: villages (村) and communities (社区)."""
    firsts = list(_NAME_FIRST)
    seconds = list(_NAME_SECOND)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        a = firsts[int(rng.integers(len(firsts)))]
        b = seconds[int(rng.integers(len(seconds)))]
        if a == b or a + b in seen:
            continue
        seen.add(a + b)
        village = town_name not in SUBDISTRICTS and rng.random() < 0.6
        zh = a + b + ("村" if village else "社区")
        en = _pinyin_join(_NAME_FIRST[a], _NAME_SECOND[b]) + (
            " Village" if village else " Community"
        )
        out.append((zh, en))
    return out


# --------------------------------------------------------------------------
# hierarchy
# --------------------------------------------------------------------------


@dataclass
class Hierarchy:
    """The three polygon layers as GeoDataFrames (EPSG:4326)."""

    towns: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame


def build_hierarchy(
    towns: gpd.GeoDataFrame,
    rng: np.random.Generator,
    scale: float = 1.0,
    progress: ProgressFn | None = None,
) -> Hierarchy:
    """Communities partition each town's owned area, grids partition each community."""
    plans = plan_towns(towns, scale)
    com_rows: list[dict[str, object]] = []
    grid_rows: list[dict[str, object]] = []
    for ti, plan in enumerate(plans):
        town_rng = np.random.default_rng(rng.integers(2**63))
        cx, cy = sample_points(
            town_rng, plan.owned, plan.communities, lambda x, y: np.sqrt(_density_weight(x, y))
        )
        order = serpentine_order(cx, cy)
        cpieces = partition(plan.owned, cx[order], cy[order])
        coms = [p for p in cpieces if p is not None]
        names = community_names(town_rng, plan.name, len(coms))
        gx, gy = sample_points(town_rng, plan.owned, plan.grids, _density_weight)
        for ci, (cgeom, (zh, en)) in enumerate(zip(coms, names, strict=True)):
            ccode = f"{plan.code}-C{ci + 1:02d}"
            com_rows.append(
                {
                    "code": ccode,
                    "name": zh,
                    "name_en": en,
                    "parent_code": plan.code,
                    "geometry": cgeom,
                }
            )
            inside = shapely.contains_xy(cgeom, gx, gy)
            sx, sy = gx[inside], gy[inside]
            if len(sx) == 0:
                p = shapely.point_on_surface(cgeom)
                sx, sy = np.array([p.x]), np.array([p.y])
            order = serpentine_order(sx, sy)
            gpieces = [g for g in partition(cgeom, sx[order], sy[order]) if g is not None]
            for gi, ggeom in enumerate(gpieces):
                grid_rows.append(
                    {
                        "code": f"{ccode}-G{gi + 1:02d}",
                        "name": f"第{gi + 1}网格",
                        "parent_code": ccode,
                        "geometry": ggeom,
                    }
                )
        if progress:
            progress("grids", (ti + 1) / len(plans))
    communities = gpd.GeoDataFrame(com_rows, geometry="geometry", crs="EPSG:4326")
    grids = gpd.GeoDataFrame(grid_rows, geometry="geometry", crs="EPSG:4326")
    return Hierarchy(towns, communities, grids)


def demo_grid(grids: gpd.GeoDataFrame) -> int:
    """Row index of the one grid holding the demo point; fails loudly otherwise."""
    hits = np.flatnonzero(shapely.contains_xy(grids.geometry.values, DEMO_LON, DEMO_LAT))
    if len(hits) != 1:
        raise AssertionError(f"demo point must lie in exactly one grid, found {len(hits)}")
    return int(hits[0])


# --------------------------------------------------------------------------
# patrol points
# --------------------------------------------------------------------------

PATROL_KINDS: dict[str, tuple[str, float, float]] = {
    # kind: (Chinese label, share of points, probability of must_visit)
    "key_point": ("重点点位", 0.35, 0.6),
    "joint_defence_point": ("警民联防点", 0.30, 0.4),
    "patrol_station": ("巡逻岗亭", 0.15, 0.1),
    "security_post": ("治安岗", 0.20, 0.1),
}
_KEY_PLACES = (
    "农贸市场", "小学门口", "文化广场", "汽车站", "工业区", "商业街", "公园",
    "医院门口", "幼儿园", "河涌桥头", "出租屋片区", "地铁站口", "夜市", "加油站",
)  # fmt: skip


def build_patrol_points(
    rng: np.random.Generator, hier: Hierarchy, scale: float
) -> gpd.GeoDataFrame:
    """A few hundred patrol points, spread like the grids (denser in the centre)."""
    n = max(8, round(320 * scale))
    grids = hier.grids
    gidx = np.sort(rng.choice(len(grids), size=n, replace=True))
    kinds = list(PATROL_KINDS)
    shares = np.array([PATROL_KINDS[k][1] for k in kinds])
    kind_idx = rng.choice(len(kinds), size=n, p=shares / shares.sum())
    must_p = np.array([PATROL_KINDS[k][2] for k in kinds])[kind_idx]
    must = rng.random(n) < must_p
    x, y = random_points_in(rng, np.asarray(grids.geometry.values[gidx], dtype=object))
    com_name = dict(zip(hier.communities["code"], hier.communities["name"], strict=True))
    places = rng.integers(len(_KEY_PLACES), size=n)
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(n):
        gcode = str(grids["parent_code"].iat[gidx[i]])
        kind = kinds[kind_idx[i]]
        base = com_name[gcode] + (
            _KEY_PLACES[places[i]] if kind == "key_point" else PATROL_KINDS[kind][0]
        )
        seen[base] = seen.get(base, 0) + 1
        names.append(f"{base}{seen[base]}号" if kind != "key_point" or seen[base] > 1 else base)
    return gpd.GeoDataFrame(
        {
            "code": [f"PP{i + 1:04d}" for i in range(n)],
            "name": names,
            "kind": [kinds[k] for k in kind_idx],
            "must_visit": must,
            "grid_code": grids["code"].to_numpy()[gidx],
        },
        geometry=shapely.points(x, y),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    """Hex digest of a file: pins the exact source a city was built from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write all layers with a fixed GPKG timestamp so rebuilds are byte-stable."""
    if path.exists():
        path.unlink()
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{PERIOD_END}T00:00:00.000Z"})
    try:
        for name, gdf in layers.items():
            # keep Polygon and MultiPolygon as they are (towns exactly as given)
            kinds = set(gdf.geom_type)
            mixed = (
                {"geometry_type": "Unknown", "promote_to_multi": False} if len(kinds) > 1 else {}
            )
            gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio", **mixed)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def build_sample_city(
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    towns_path: Path | None = None,
    progress: ProgressFn | None = None,
    scale: float = 1.0,
    taxonomy_path: Path | None = None,
) -> SampleCityManifest:
    """Write the sample city (city.gpkg, people.csv, rosters.csv, reports.parquet,
    planted_hotspots.json, manifest.json) into out_dir; same seed → same content.

    `scale` shrinks grids (linearly), communities (by √scale) and reports (linearly)
    so tests can build a small city in seconds.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    towns_path = Path(towns_path or DEFAULT_TOWNS_PATH)
    taxonomy_path = Path(taxonomy_path or DEFAULT_TAXONOMY_PATH)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def step(stage: str, frac: float) -> None:
        if progress:
            progress(stage, frac)

    root = np.random.SeedSequence(seed)
    geo_ss, pp_ss, people_ss, rep_ss = root.spawn(4)

    step("towns", 0.0)
    towns = read_towns(towns_path)
    hier = build_hierarchy(towns, np.random.default_rng(geo_ss), scale, progress)
    demo_idx = demo_grid(hier.grids)
    demo_code = str(hier.grids["code"].iat[demo_idx])

    step("patrol_points", 0.0)
    patrol = build_patrol_points(np.random.default_rng(pp_ss), hier, scale)
    _write_gpkg(
        out_dir / "city.gpkg",
        {
            "towns": hier.towns,
            "communities": hier.communities,
            "grids": hier.grids,
            "patrol_points": patrol,
        },
    )

    step("people", 0.0)
    people, rosters, people_counts = build_people(
        np.random.default_rng(people_ss), hier.towns, hier.communities, hier.grids, demo_code
    )
    people.to_csv(out_dir / "people.csv", index=False, lineterminator="\n")
    rosters.to_csv(out_dir / "rosters.csv", index=False, lineterminator="\n")

    step("reports", 0.0)
    categories = load_categories(taxonomy_path)
    reports, hotspots, rstats = build_reports(
        np.random.default_rng(rep_ss),
        hier.towns,
        hier.grids,
        categories,
        scale,
        progress=(lambda f: step("reports", f)) if progress else None,
    )
    reports.to_parquet(out_dir / "reports.parquet", index=False)
    (out_dir / "planted_hotspots.json").write_text(
        json.dumps(hotspots, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )

    manifest = SampleCityManifest(
        seed=seed,
        scale=scale,
        generator_version=GENERATOR_VERSION,
        build_date=datetime.now(UTC).date().isoformat(),
        source_file=towns_path.name,
        source_sha256=_sha256(towns_path),
        taxonomy_sha256=_sha256(taxonomy_path),
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        demo_lat=DEMO_LAT,
        demo_lon=DEMO_LON,
        demo_grid_code=demo_code,
        outside_share=rstats.outside / max(rstats.total, 1),
        outside_max_m=rstats.outside_max_m,
        counts=_counts(hier, patrol, people_counts, len(rosters), rstats),
        files=[
            "city.gpkg",
            "people.csv",
            "rosters.csv",
            "reports.parquet",
            "planted_hotspots.json",
            "manifest.json",
        ],
    )
    (out_dir / "manifest.json").write_text(
        json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    step("done", 1.0)
    return manifest


def _counts(
    hier: Hierarchy,
    patrol: gpd.GeoDataFrame,
    people_counts: dict[str, int],
    roster_rows: int,
    rstats: ReportStats,
) -> dict[str, int]:
    """Flat counts for the manifest (importer and tests compare against them)."""
    return {
        "towns": len(hier.towns),
        "communities": len(hier.communities),
        "grids": len(hier.grids),
        "patrol_points": len(patrol),
        **people_counts,
        "roster_rows": roster_rows,
        "reports": rstats.total,
        "reports_outside": rstats.outside,
        "reports_planted": rstats.planted,
        "planted_hotspots": rstats.hotspots,
    }


__all__ = [
    "DEFAULT_SEED",
    "DEMO_LAT",
    "DEMO_LON",
    "GENERATOR_VERSION",
    "TOWN_NAMES_EN",
    "SampleCityManifest",
    "build_sample_city",
    "expected_grid_count",
]
