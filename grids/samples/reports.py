"""One year of synthetic citizen reports with planted hotspots.

Everything is vectorised numpy (no loop per report): background reports per
grid, many small random clusters, a documented ~0.5% share just outside the
city, and 5–8 planted hotspots with known emerging-hot-spot patterns, so the
analytics (Gi*, emerging hot spots) can be tested against a known truth.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Local dates (Asia/Shanghai) of the simulated year, both inclusive.
PERIOD_START = "2025-11-16"
PERIOD_END = "2026-11-15"
DAYS = 365
#: UTC instant of local midnight at the start of PERIOD_START (UTC+8, no DST).
_START_UTC_S = int((np.datetime64(PERIOD_START, "s") - np.timedelta64(8, "h")).astype(np.int64))


def m_per_deg(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at `lat` (WGS-84 series)."""
    phi = math.radians(lat)
    lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    lat_m = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    return lon, lat_m


#: Metres per degree near Dongguan (local equirectangular approximation at LAT0).
LAT0 = 22.9
M_PER_DEG_LON, M_PER_DEG_LAT = m_per_deg(LAT0)

#: Reports per year at scale 1, before planted hotspots.
REPORTS_PER_YEAR = 200_000
BACKGROUND_SHARE = 0.70
OUTSIDE_SHARE = 0.005
#: Outside reports lie at most this far (documented) from the city; generated up to 280 m.
OUTSIDE_MAX_M = 300.0
_OUTSIDE_RANGE_M = (20.0, 280.0)

SOURCES = ("app", "wechat", "patrol", "hotline")
SOURCE_MIX = {
    "governance": (0.40, 0.38, 0.12, 0.10),
    "public_security": (0.25, 0.25, 0.30, 0.20),
}

#: Relative frequency of each category; categories missing here get DEFAULT_WEIGHT.
CATEGORY_WEIGHTS: dict[str, float] = {
    "garbage_piled": 0.20,
    "illegal_parking": 0.18,
    "street_vending": 0.09,
    "illegal_flyers": 0.08,
    "noise_nuisance": 0.05,
    "uncivil_dog_keeping": 0.05,
    "ebike_charging_hazard": 0.05,
    "fire_exit_blocked": 0.04,
    "construction_nuisance": 0.03,
    "public_safety_hazard": 0.03,
    "other_matter": 0.03,
    "billboard_hazard": 0.02,
    "illegal_construction": 0.02,
    "suspicious_person": 0.02,
    "road_waterlogging": 0.015,
    "manhole_cover_missing": 0.015,
    "food_safety": 0.015,
    "suspicious_vehicle": 0.012,
    "gas_safety_hazard": 0.01,
    "unlicensed_fuel_truck": 0.008,
    "industrial_waste_dumping": 0.008,
    "emergency_incident": 0.006,
    "suspicious_object": 0.005,
    "illegal_gathering": 0.004,
    "crime_lead": 0.003,
}
DEFAULT_WEIGHT = 0.005
#: Month multipliers (Jan..Dec): rainy season, summer noise, winter charging.
MONTHLY: dict[str, tuple[float, ...]] = {
    "road_waterlogging": (0.2, 0.2, 0.5, 1.2, 2.5, 3.0, 3.0, 3.0, 2.5, 1.0, 0.4, 0.2),
    "noise_nuisance": (0.9, 0.8, 0.9, 1.0, 1.1, 1.3, 1.3, 1.3, 1.2, 1.0, 0.9, 0.9),
    "ebike_charging_hazard": (1.3, 1.3, 1.1, 1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.1, 1.3),
    "construction_nuisance": (1.0, 0.4, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.1, 1.1, 1.1, 1.0),
}
#: Night (22:00–05:59) multipliers; public-security leads get NIGHT_SECURITY.
NIGHT: dict[str, float] = {
    "noise_nuisance": 2.5,
    "construction_nuisance": 1.8,
    "street_vending": 1.2,
    "illegal_parking": 0.8,
    "garbage_piled": 0.7,
}
NIGHT_SECURITY = 2.5

# Hourly profiles (local time): morning and evening peaks, later and flatter on weekends.
WEEKDAY_HOURS = np.array(
    [0.35, 0.2, 0.12, 0.1, 0.12, 0.3, 0.8, 1.7, 2.5, 2.4, 2.1, 1.8,
     1.4, 1.5, 1.7, 1.8, 1.9, 2.2, 2.5, 2.7, 2.4, 1.8, 1.1, 0.6]
)  # fmt: skip
WEEKEND_HOURS = np.array(
    [0.6, 0.4, 0.25, 0.15, 0.12, 0.2, 0.4, 0.8, 1.4, 2.0, 2.3, 2.2,
     1.8, 1.6, 1.7, 1.8, 1.9, 2.0, 2.3, 2.5, 2.4, 2.0, 1.4, 0.9]
)  # fmt: skip
#: Mon..Sun factors.
WEEKDAY_FACTOR = np.array([1.08, 1.04, 1.02, 1.0, 0.98, 0.85, 0.80])
#: Spring Festival 2026 (Feb 17): Dongguan empties as migrant workers go home.
SPRING_FESTIVAL = "2026-02-17"


@dataclass(frozen=True)
class HotspotSpec:
    """A planted hotspot before placement: pattern, category, size and weekly rate."""

    pattern: str
    category: str
    radius_m: float
    weekly: float


HOTSPOT_SPECS: tuple[HotspotSpec, ...] = (
    HotspotSpec("new", "industrial_waste_dumping", 250.0, 35.0),
    HotspotSpec("persistent", "garbage_piled", 300.0, 25.0),
    HotspotSpec("intensifying", "ebike_charging_hazard", 200.0, 46.0),
    HotspotSpec("diminishing", "illegal_parking", 350.0, 46.0),
    HotspotSpec("sporadic", "unlicensed_fuel_truck", 400.0, 32.0),
    HotspotSpec("historical", "illegal_flyers", 200.0, 30.0),
    HotspotSpec("persistent", "fire_exit_blocked", 150.0, 18.0),
)
PATTERN_ZH = {
    "new": "新增",
    "persistent": "持续",
    "intensifying": "加剧",
    "diminishing": "减弱",
    "sporadic": "零星",
    "historical": "历史",
}
#: ISO weeks a sporadic hotspot is on: the final one and others at random, never week 0
#: (one day) nor the week before the final one.
SPORADIC_WEEKS = 16
#: Last day of a historical hotspot: active from the start and quiet for the final
#: 16 days, i.e. off in the final two ISO weeks (ending on a Friday, so the third-last
#: week is short and the bin before the final one is not carried hot by it).
HISTORICAL_END = DAYS - 1 - 16
#: A "new" hotspot is placed where its category had (almost) no earlier reports within
#: this distance: about the reach of Gi* with 1-ring neighbours at H3 resolution 8.
NEW_CLEAR_M = 2000.0
#: Hotspot rates are not scaled below this, so small test cities still show them.
MIN_HOTSPOT_INTENSITY = 0.25

REPORT_COLUMNS = ["report_id", "occurred_at", "lat", "lon", "category", "source"]


@dataclass(frozen=True)
class Category:
    """The part of a taxonomy category the generator needs."""

    code: str
    name: str
    group: str


@dataclass(frozen=True)
class ReportStats:
    """Counts for the manifest."""

    total: int
    outside: int
    planted: int
    hotspots: int
    outside_max_m: float


def load_categories(path: Path) -> list[Category]:
    """Categories of taxonomy.toml, in file order."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [Category(c["code"], c["name"], c["group"]) for c in data["category"]]


def random_points_in(
    rng: np.random.Generator, geoms: NDArray[np.object_]
) -> tuple[FloatArray, FloatArray]:
    """One uniform random point inside each geometry (vectorised rejection)."""
    n = len(geoms)
    x = np.zeros(n)
    y = np.zeros(n)
    if n == 0:
        return x, y
    shapely.prepare(geoms)
    b = shapely.bounds(geoms)
    todo = np.arange(n)
    while len(todo):
        bx = b[todo]
        cx = bx[:, 0] + rng.random(len(todo)) * (bx[:, 2] - bx[:, 0])
        cy = bx[:, 1] + rng.random(len(todo)) * (bx[:, 3] - bx[:, 1])
        ok = shapely.contains_xy(geoms[todo], cx, cy)
        x[todo[ok]] = cx[ok]
        y[todo[ok]] = cy[ok]
        todo = todo[~ok]
    return x, y


# --------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------


def iso_weekday(days: IntArray) -> IntArray:
    """ISO weekday (Mon=1..Sun=7) of day offsets from PERIOD_START (a Sunday)."""
    return ((days + 6) % 7 + 1).astype(np.int64)


def iso_week(days: IntArray) -> IntArray:
    """Index of the ISO week (Monday..Sunday) of day offsets from PERIOD_START.

    Week 0 is the ISO week that ends on PERIOD_START (a Sunday, its only day in the
    period); weeks 1..WEEKS - 1 are whole, the last one ending on PERIOD_END.
    """
    return ((days + 6) // 7).astype(np.int64)


#: ISO weeks touched by the period (the first holds one day, the others seven).
WEEKS = int(iso_week(np.array([DAYS - 1]))[0]) + 1
#: First day of the final ISO week (a Monday).
FINAL_WEEK_START = DAYS - 7


def day_weights() -> FloatArray:
    """Relative report volume of each day: weekly rhythm, Spring Festival dip, growth."""
    d = np.arange(DAYS)
    w = WEEKDAY_FACTOR[iso_weekday(d) - 1]
    sf = int((np.datetime64(SPRING_FESTIVAL) - np.datetime64(PERIOD_START)).astype(np.int64))
    w = w * np.interp(d - sf, [-10, -4, 6, 14], [1.0, 0.4, 0.4, 1.0])
    w = w * (1.0 + 0.06 * np.sin(2 * np.pi * (d - 120) / DAYS))
    return np.asarray(w * (0.92 + 0.16 * d / (DAYS - 1)), dtype=np.float64)


def sample_days(rng: np.random.Generator, lo: IntArray, hi: IntArray) -> IntArray:
    """A day in [lo, hi) for each report, weighted by day_weights (rejection)."""
    w = day_weights()
    w = w / w.max()
    out = np.empty(len(lo), dtype=np.int64)
    todo = np.arange(len(lo))
    while len(todo):
        d = lo[todo] + np.floor(rng.random(len(todo)) * (hi[todo] - lo[todo])).astype(np.int64)
        ok = rng.random(len(todo)) < w[d]
        out[todo[ok]] = d[ok]
        todo = todo[~ok]
    return out


def sample_seconds(rng: np.random.Generator, days: IntArray) -> IntArray:
    """Local seconds since PERIOD_START 00:00 with the weekday/weekend hourly rhythm."""
    weekend = iso_weekday(days) >= 6
    cdf_wd = np.cumsum(WEEKDAY_HOURS) / WEEKDAY_HOURS.sum()
    cdf_we = np.cumsum(WEEKEND_HOURS) / WEEKEND_HOURS.sum()
    u = rng.random(len(days))
    hour = np.where(
        weekend,
        np.searchsorted(cdf_we, u, side="right"),
        np.searchsorted(cdf_wd, u, side="right"),
    )
    hour = np.minimum(hour, 23)
    sec = rng.integers(0, 3600, size=len(days))
    return np.asarray(days * 86400 + hour * 3600 + sec, dtype=np.int64)


def month_index(seconds: IntArray) -> IntArray:
    """Calendar month (0=Jan) of local seconds since PERIOD_START."""
    local = np.datetime64(PERIOD_START, "s") + seconds.astype("timedelta64[s]")
    return np.asarray(local.astype("datetime64[M]").astype(np.int64) % 12, dtype=np.int64)


# --------------------------------------------------------------------------
# categories and sources
# --------------------------------------------------------------------------


def category_table(categories: list[Category]) -> FloatArray:
    """CDF table [month, night, category] of the category mix."""
    base = np.array([CATEGORY_WEIGHTS.get(c.code, DEFAULT_WEIGHT) for c in categories])
    table = np.empty((12, 2, len(categories)))
    for m in range(12):
        monthly = np.array([MONTHLY.get(c.code, (1.0,) * 12)[m] for c in categories])
        night = np.array(
            [
                NIGHT_SECURITY if c.group == "public_security" else NIGHT.get(c.code, 1.0)
                for c in categories
            ]
        )
        for k, mult in enumerate((np.ones(len(categories)), night)):
            p = base * monthly * mult
            table[m, k] = np.cumsum(p) / p.sum()
    return table


def sample_categories(rng: np.random.Generator, table: FloatArray, seconds: IntArray) -> IntArray:
    """Category index per report given its local time (month and night)."""
    hour = (seconds % 86400) // 3600
    night = ((hour >= 22) | (hour < 6)).astype(np.int64)
    rows = table[month_index(seconds), night]
    u = rng.random(len(seconds))[:, None]
    idx = (rows < u).sum(axis=1)
    return np.minimum(idx, table.shape[2] - 1).astype(np.int64)


def sample_sources(
    rng: np.random.Generator, categories: list[Category], cat_idx: IntArray
) -> NDArray[np.object_]:
    """Report channel per report; patrols and the hotline matter more for security leads."""
    sec = np.array([c.group == "public_security" for c in categories])[cat_idx]
    u = rng.random(len(cat_idx))
    cdf_g = np.cumsum(SOURCE_MIX["governance"])
    cdf_s = np.cumsum(SOURCE_MIX["public_security"])
    idx = np.where(
        sec, np.searchsorted(cdf_s, u, side="right"), np.searchsorted(cdf_g, u, side="right")
    )
    return np.asarray(SOURCES, dtype=object)[np.minimum(idx, len(SOURCES) - 1)]


# --------------------------------------------------------------------------
# places
# --------------------------------------------------------------------------


def _offset(
    x: FloatArray, y: FloatArray, dx_m: FloatArray, dy_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Move lon/lat points by metres east/north."""
    return x + dx_m / M_PER_DEG_LON, y + dy_m / M_PER_DEG_LAT


def inside_city(city: BaseGeometry, x: FloatArray, y: FloatArray) -> NDArray[np.bool_]:
    """Point-in-city test against the (prepared) union of all grids."""
    return np.asarray(shapely.contains_xy(city, x, y), dtype=np.bool_)


def cluster_points(
    rng: np.random.Generator,
    city: BaseGeometry,
    cx: FloatArray,
    cy: FloatArray,
    sigma_m: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Gaussian scatter around each centre, redrawn until inside the city (centres are)."""
    x = cx.copy()
    y = cy.copy()
    todo = np.arange(len(cx))
    for _ in range(30):
        if not len(todo):
            break
        nx, ny = _offset(
            cx[todo],
            cy[todo],
            rng.normal(0, 1, len(todo)) * sigma_m[todo],
            rng.normal(0, 1, len(todo)) * sigma_m[todo],
        )
        ok = inside_city(city, nx, ny)
        x[todo[ok]] = nx[ok]
        y[todo[ok]] = ny[ok]
        todo = todo[~ok]
    return x, y  # any left over stay on their (inside) centre


def outside_points(
    rng: np.random.Generator, towns_union: BaseGeometry, n: int
) -> tuple[FloatArray, FloatArray]:
    """Points 20–280 m outside the city's outer boundary (to exercise snapping/outside)."""
    rings = [
        shapely.get_exterior_ring(p)
        for p in shapely.get_parts(towns_union)
        if p.geom_type == "Polygon"
    ]
    lengths = np.array([r.length for r in rings])
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    got = 0
    while got < n:
        m = 2 * (n - got) + 8
        ring = rng.choice(len(rings), size=m, p=lengths / lengths.sum())
        pos = rng.random(m)
        bx = np.empty(m)
        by = np.empty(m)
        for r in np.unique(ring):  # loop over rings (one or a few), not reports
            sel = ring == r
            pts = shapely.line_interpolate_point(rings[r], pos[sel], normalized=True)
            bx[sel] = shapely.get_x(pts)
            by[sel] = shapely.get_y(pts)
        dist = rng.uniform(*_OUTSIDE_RANGE_M, m)
        ang = rng.uniform(0, 2 * np.pi, m)
        x, y = _offset(bx, by, dist * np.cos(ang), dist * np.sin(ang))
        ok = ~shapely.contains_xy(towns_union, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def disc(lon: float, lat: float, radius_m: float) -> BaseGeometry:
    """A circle of radius_m metres on the ground, as a lon/lat polygon."""
    c = shapely.Point(lon, lat).buffer(radius_m / M_PER_DEG_LAT, quad_segs=16)
    k = M_PER_DEG_LAT / M_PER_DEG_LON
    return shapely.transform(c, lambda a: (a - [lon, lat]) * [k, 1.0] + [lon, lat])


# --------------------------------------------------------------------------
# hotspots
# --------------------------------------------------------------------------


def hotspot_daily_rates(
    rng: np.random.Generator, spec: HotspotSpec
) -> tuple[FloatArray, int, int | None]:
    """Expected extra reports per day, first day, last day (None = to the end).

    The patterns are ESRI's emerging hot spot patterns (ArcGIS Pro) on ISO-week bins:
    new is on in the final week only; persistent, intensifying and diminishing are on
    all year (flat, rising, falling); sporadic is on in SPORADIC_WEEKS random weeks,
    the final one included and the one before it off; historical is on from the start
    to HISTORICAL_END, i.e. in over 90 % of the weeks but not the final two.
    """
    d = np.arange(DAYS, dtype=np.float64)
    base = spec.weekly / 7.0
    t = d / (DAYS - 1)
    start, end = 0, None
    if spec.pattern == "new":
        start = FINAL_WEEK_START
        rate = np.where(d >= start, base, 0.0)
    elif spec.pattern == "persistent":
        rate = np.full(DAYS, base)
    elif spec.pattern == "intensifying":
        rate = base * (0.13 + 0.87 * t)
    elif spec.pattern == "diminishing":
        rate = base * (1.0 - 0.74 * t)
    elif spec.pattern == "sporadic":
        on = np.zeros(WEEKS, dtype=bool)
        on[-1] = True  # on in the final week, off in the one before
        on[1 + rng.choice(WEEKS - 3, size=SPORADIC_WEEKS - 1, replace=False)] = True
        week = iso_week(np.arange(DAYS))
        start = int(np.flatnonzero(on[week])[0])
        rate = np.where(on[week], base, 0.0)
    elif spec.pattern == "historical":
        end = HISTORICAL_END
        rate = np.where(d <= end, base, 0.0)
    else:
        raise ValueError(f"unknown hotspot pattern {spec.pattern!r}")
    w = WEEKDAY_FACTOR[iso_weekday(np.arange(DAYS)) - 1]
    return rate * w / WEEKDAY_FACTOR.mean(), start, end


def place_hotspots(
    rng: np.random.Generator,
    grids: gpd.GeoDataFrame,
    city: BaseGeometry,
    specs: Sequence[HotspotSpec],
    earlier: Mapping[str, tuple[FloatArray, FloatArray]] | None = None,
) -> list[tuple[float, float, str, float]]:
    """Centres (lon, lat, town code, radius) in small (urban) grids of distinct towns,
    ≥ 3 km apart, with the whole disc inside the city, one per spec in order.

    A "new" hotspot is new to its place: it goes where its category had the fewest
    `earlier` reports (lon, lat by category) within NEW_CLEAR_M — none in a small
    city — among the places still open to it, so that nothing hot comes before it.
    """
    geoms = np.asarray(grids.geometry.values, dtype=object)
    areas = shapely.area(geoms)
    urban = np.flatnonzero(areas <= np.quantile(areas, 0.4))
    order = rng.permutation(urban)
    gx, gy = random_points_in(rng, geoms[order])
    towns = grids["parent_code"].str.slice(0, 4).to_numpy()[order]
    out: list[tuple[float, float, str, float]] = []
    taken = np.zeros(len(order), dtype=bool)

    def fits(i: int, spec: HotspotSpec) -> bool:
        if taken[i] or any(t == towns[i] for _, _, t, _ in out):
            return False
        if any(
            math.hypot((gx[i] - x) * M_PER_DEG_LON, (gy[i] - y) * M_PER_DEG_LAT) < 3000
            for x, y, _, _ in out
        ):
            return False
        return bool(city.contains(disc(gx[i], gy[i], spec.radius_m + 20)))

    i = 0
    for spec in specs:
        while i < len(order) and not fits(i, spec):
            i += 1
        if i == len(order):
            raise RuntimeError("could not place the planted hotspots")
        pick = i
        if spec.pattern == "new" and earlier is not None:
            ex, ey = earlier.get(spec.category, (np.empty(0), np.empty(0)))
            crowd = _count_within(gx[i:], gy[i:], ex, ey, NEW_CLEAR_M)
            for j in i + np.argsort(crowd, kind="stable"):
                if fits(int(j), spec):
                    pick = int(j)
                    break
        taken[pick] = True
        out.append((float(gx[pick]), float(gy[pick]), str(towns[pick]), spec.radius_m))
    return out


def _count_within(
    x: FloatArray, y: FloatArray, px: FloatArray, py: FloatArray, radius_m: float
) -> IntArray:
    """How many points (px, py) lie within radius_m of each (x, y) (lon/lat, local metres)."""
    out = np.zeros(len(x), dtype=np.int64)
    step = max(1, 2_000_000 // max(1, len(px)))
    for k in range(0, len(x), step):  # chunks bound the (centres × points) matrix
        dx = (x[k : k + step, None] - px[None, :]) * M_PER_DEG_LON
        dy = (y[k : k + step, None] - py[None, :]) * M_PER_DEG_LAT
        out[k : k + step] = (dx * dx + dy * dy <= radius_m * radius_m).sum(axis=1)
    return out


def _iso_day(day: int) -> str:
    """ISO date of a day offset from PERIOD_START."""
    return str(np.datetime64(PERIOD_START) + np.timedelta64(day, "D"))


# --------------------------------------------------------------------------
# the year
# --------------------------------------------------------------------------


def build_reports(
    rng: np.random.Generator,
    towns: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    categories: list[Category],
    scale: float = 1.0,
    progress: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]], ReportStats]:
    """reports.parquet as a DataFrame, the planted hotspots and counts."""
    cat_codes = [c.code for c in categories]
    cat_pos = {c: i for i, c in enumerate(cat_codes)}
    table = category_table(categories)
    geoms = np.asarray(grids.geometry.values, dtype=object)
    city = shapely.union_all(geoms)
    shapely.prepare(city)
    towns_union = shapely.union_all(np.asarray(towns.geometry.values, dtype=object))
    shapely.prepare(towns_union)
    n_total = max(50, round(REPORTS_PER_YEAR * scale))
    n_out = max(1, round(n_total * OUTSIDE_SHARE))
    n_bg = round(n_total * BACKGROUND_SHARE)
    n_cl = n_total - n_bg - n_out
    parts: list[dict[str, Any]] = []

    # background: every grid gets a similar expected load, so density follows grid density
    gw = rng.lognormal(0.0, 0.6, len(geoms))
    gidx = rng.choice(len(geoms), size=n_bg, p=gw / gw.sum())
    x, y = random_points_in(rng, geoms[gidx])
    secs = sample_seconds(rng, sample_days(rng, np.zeros(n_bg, np.int64), np.full(n_bg, DAYS)))
    parts.append({"x": x, "y": y, "s": secs, "c": sample_categories(rng, table, secs)})
    if progress:
        progress(0.3)

    # small clusters: a market, a street, a block — each with its own favourite category
    k = max(3, round(700 * scale))
    cg = rng.choice(len(geoms), size=k, p=gw / gw.sum())
    ccx, ccy = random_points_in(rng, geoms[cg])
    sigma = rng.uniform(40.0, 220.0, k)
    whole_year = rng.random(k) < 0.3
    length = np.where(whole_year, DAYS, rng.integers(14, 181, k))
    first = rng.integers(0, DAYS - length + 1)
    # reports per active week vary (lognormal, capped) but no cluster rivals a planted hotspot
    rate = np.minimum(rng.lognormal(0.0, 0.8, k), 6.0)
    size = rate * length
    members = rng.choice(k, size=n_cl, p=size / size.sum())
    fav = sample_categories(rng, table, sample_seconds(rng, rng.integers(0, DAYS, k)))
    x, y = cluster_points(rng, city, ccx[members], ccy[members], sigma[members])
    secs = sample_seconds(rng, sample_days(rng, first[members], (first + length)[members]))
    c = np.where(rng.random(n_cl) < 0.65, fav[members], sample_categories(rng, table, secs))
    parts.append({"x": x, "y": y, "s": secs, "c": c})
    if progress:
        progress(0.6)

    # a documented share just outside the outer boundary
    x, y = outside_points(rng, towns_union, n_out)
    secs = sample_seconds(rng, sample_days(rng, np.zeros(n_out, np.int64), np.full(n_out, DAYS)))
    parts.append({"x": x, "y": y, "s": secs, "c": sample_categories(rng, table, secs)})

    # planted hotspots
    specs = [s for s in HOTSPOT_SPECS if s.category in cat_pos]
    # where each "new" hotspot's category was reported before the final week
    xs, ys, ss, cs = (np.concatenate([p[k] for p in parts]) for k in "xysc")
    before = ss < FINAL_WEEK_START * 86400
    earlier: dict[str, tuple[FloatArray, FloatArray]] = {}
    for spec in specs:
        if spec.pattern == "new":
            sel = before & (cs == cat_pos[spec.category])
            earlier[spec.category] = (xs[sel], ys[sel])
    centres = place_hotspots(rng, grids, city, specs, earlier)
    town_name = dict(zip(towns["code"], towns["name"], strict=True))
    intensity = min(1.0, max(scale, MIN_HOTSPOT_INTENSITY))
    hotspots: list[dict[str, Any]] = []
    planted = 0
    for spec, (lon, lat, tcode, radius) in zip(specs, centres, strict=True):
        rate, start, end = hotspot_daily_rates(rng, spec)
        per_day = rng.poisson(rate * intensity)
        days = np.repeat(np.arange(DAYS, dtype=np.int64), per_day)
        m = len(days)
        # uniform in the disc, 1% inside its rim so any metric CRS counts them in it
        r = 0.99 * radius * np.sqrt(rng.random(m))
        a = rng.uniform(0, 2 * np.pi, m)
        mx, my = m_per_deg(lat)
        x = lon + r * np.cos(a) / mx
        y = lat + r * np.sin(a) / my
        secs = sample_seconds(rng, days)
        parts.append({"x": x, "y": y, "s": secs, "c": np.full(m, cat_pos[spec.category])})
        planted += m
        cat = categories[cat_pos[spec.category]]
        hotspots.append(
            {
                "name": f"{town_name[tcode]}{cat.name}热点（{PATTERN_ZH[spec.pattern]}）",
                "category": spec.category,
                "lat": lat,
                "lon": lon,
                "radius_m": radius,
                "start_date": _iso_day(start),
                "end_date": None if end is None else _iso_day(end),
                "pattern": spec.pattern,
                "extra_reports": m,
            }
        )
    if progress:
        progress(0.9)

    x = np.concatenate([p["x"] for p in parts])
    y = np.concatenate([p["y"] for p in parts])
    s = np.concatenate([p["s"] for p in parts])
    c = np.concatenate([p["c"] for p in parts]).astype(np.int64)
    order = np.argsort(s, kind="stable")
    x, y, s, c = x[order], y[order], s[order], c[order]
    n = len(s)
    occurred = pd.to_datetime(_START_UTC_S + s, unit="s", utc=True).astype("datetime64[us, UTC]")
    df = pd.DataFrame(
        {
            "report_id": [f"R{i:07d}" for i in range(1, n + 1)],
            "occurred_at": occurred,
            "lat": y.astype(np.float64),
            "lon": x.astype(np.float64),
            "category": np.asarray(cat_codes, dtype=object)[c],
            "source": sample_sources(rng, categories, c),
        }
    )
    stats = ReportStats(
        total=n, outside=n_out, planted=planted, hotspots=len(hotspots), outside_max_m=OUTSIDE_MAX_M
    )
    return df[REPORT_COLUMNS], hotspots, stats
