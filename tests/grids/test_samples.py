"""Tests of the seeded sample city generator (grids.samples).

A small city (scale 0.05) is built once per module; one test builds the full city,
which takes a few seconds.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from grids.samples import DEMO_LAT, DEMO_LON, build_sample_city, expected_grid_count
from grids.samples.generate import DEFAULT_TAXONOMY_PATH, DEFAULT_TOWNS_PATH, TOWN_NAMES_EN

SCALE = 0.05
SEED = 20261122
METRIC = "EPSG:32649"  # UTM 49N covers Dongguan

FILES = (
    "city.gpkg",
    "people.csv",
    "rosters.csv",
    "reports.parquet",
    "planted_hotspots.json",
    "manifest.json",
)
LAYER_COLUMNS = {
    "towns": ["code", "name", "name_en"],
    "communities": ["code", "name", "name_en", "parent_code"],
    "grids": ["code", "name", "parent_code"],
    "patrol_points": ["code", "name", "kind", "must_visit", "grid_code"],
}
HOTSPOT_KEYS = [
    "name",
    "category",
    "lat",
    "lon",
    "radius_m",
    "start_date",
    "end_date",
    "pattern",
    "extra_reports",
]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_sample_city(out, seed=SEED, scale=SCALE)
    return out


@pytest.fixture(scope="module")
def layers(city: Path) -> dict[str, gpd.GeoDataFrame]:
    return {name: gpd.read_file(city / "city.gpkg", layer=name) for name in LAYER_COLUMNS}


@pytest.fixture(scope="module")
def reports(city: Path) -> pd.DataFrame:
    return pd.read_parquet(city / "reports.parquet")


@pytest.fixture(scope="module")
def people(city: Path) -> pd.DataFrame:
    return pd.read_csv(city / "people.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def rosters(city: Path) -> pd.DataFrame:
    return pd.read_csv(city / "rosters.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def taxonomy() -> dict[str, Any]:
    with open(DEFAULT_TAXONOMY_PATH, "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def city_union(layers: dict[str, gpd.GeoDataFrame]) -> shapely.Geometry:
    union = shapely.union_all(layers["grids"].geometry.values)
    shapely.prepare(union)
    return union


# --------------------------------------------------------------------------
# files and formats
# --------------------------------------------------------------------------


def test_files_and_columns(city: Path, reports: pd.DataFrame) -> None:
    for name in FILES:
        assert (city / name).is_file(), name
    assert sorted(n for n, _ in pyogrio.list_layers(city / "city.gpkg")) == sorted(LAYER_COLUMNS)
    for layer, cols in LAYER_COLUMNS.items():
        info = pyogrio.read_info(city / "city.gpkg", layer=layer)
        assert list(info["fields"]) == cols, layer
        assert info["crs"] == "EPSG:4326"
    people_cols = pd.read_csv(city / "people.csv", nrows=0).columns.tolist()
    assert people_cols == ["code", "name", "phone", "role", "unit_code"]
    roster_cols = pd.read_csv(city / "rosters.csv", nrows=0).columns.tolist()
    assert roster_cols == [
        "person_code",
        "unit_code",
        "weekdays",
        "start",
        "end",
        "valid_from",
        "valid_until",
    ]
    assert reports.columns.tolist() == [
        "report_id",
        "occurred_at",
        "lat",
        "lon",
        "category",
        "source",
    ]
    assert isinstance(reports["occurred_at"].dtype, pd.DatetimeTZDtype)
    assert str(reports["occurred_at"].dt.tz) == "UTC"
    assert reports["lat"].dtype == np.float64 and reports["lon"].dtype == np.float64
    assert reports["report_id"].str.fullmatch(r"R\d{7}").all()
    assert reports["report_id"].is_unique
    assert set(reports["source"]) == {"app", "wechat", "patrol", "hotline"}


def test_manifest_matches_files(city: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == SEED and manifest["scale"] == SCALE
    assert manifest["generator_version"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", manifest["build_date"])
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["source_sha256"])
    counts = manifest["counts"]
    for layer in LAYER_COLUMNS:
        assert counts[layer] == len(layers[layer])
    assert counts["reports"] == len(pd.read_parquet(city / "reports.parquet"))
    assert counts["people_rows"] == len(pd.read_csv(city / "people.csv"))
    assert counts["roster_rows"] == len(pd.read_csv(city / "rosters.csv"))
    assert set(manifest["files"]) == set(FILES)


# --------------------------------------------------------------------------
# hierarchy
# --------------------------------------------------------------------------


def test_towns_as_given(layers: dict[str, gpd.GeoDataFrame]) -> None:
    towns = layers["towns"]
    src = gpd.read_file(DEFAULT_TOWNS_PATH)
    assert towns["code"].tolist() == [f"DG{i:02d}" for i in range(1, 36)]
    assert towns["name"].tolist() == src["name"].tolist()
    assert towns["name_en"].tolist() == [TOWN_NAMES_EN[n] for n in src["name"]]
    assert shapely.equals_exact(towns.geometry.values, src.geometry.values, tolerance=0).all()
    assert TOWN_NAMES_EN["茶山镇"] == "Chashan Town"
    assert TOWN_NAMES_EN["东城街道"] == "Dongcheng Subdistrict"
    assert TOWN_NAMES_EN["松山湖管委会"] == "Songshan Lake"


def test_codes_and_parents(layers: dict[str, gpd.GeoDataFrame]) -> None:
    towns, coms, grids = layers["towns"], layers["communities"], layers["grids"]
    for gdf in (towns, coms, grids):
        assert gdf["code"].is_unique
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
        assert gdf.geometry.is_valid.all()
    assert coms["code"].str.fullmatch(r"DG\d{2}-C\d{2}").all()
    assert grids["code"].str.fullmatch(r"DG\d{2}-C\d{2}-G\d{2,3}").all()
    assert set(coms["parent_code"]) <= set(towns["code"])
    assert set(grids["parent_code"]) <= set(coms["code"])
    assert (coms["code"].str[:4] == coms["parent_code"]).all()
    assert (grids["code"].str[:8] == grids["parent_code"]).all()
    assert not coms.duplicated(["parent_code", "name"]).any()
    assert not grids.duplicated(["parent_code", "name"]).any()
    assert grids["name"].str.fullmatch(r"第\d+网格").all()
    assert set(coms["parent_code"]) == set(towns["code"])  # every town has communities
    assert set(grids["parent_code"]) == set(coms["code"])  # every community has grids


def test_grids_do_not_overlap(layers: dict[str, gpd.GeoDataFrame]) -> None:
    grids = layers["grids"].to_crs(METRIC)
    total = float(grids.area.sum())
    union = float(shapely.union_all(grids.geometry.values).area)
    assert abs(total - union) < 1e-6 * union


def test_grids_within_their_towns(layers: dict[str, gpd.GeoDataFrame]) -> None:
    towns = layers["towns"].set_index("code").geometry
    grids = layers["grids"]
    town_of = towns.loc[grids["code"].str[:4]].values
    outside = shapely.area(shapely.difference(grids.geometry.values, town_of))
    assert outside.max() < 1e-12  # degrees² (≈ 0.01 m²): float noise only


def test_communities_partition_their_owned_town(layers: dict[str, gpd.GeoDataFrame]) -> None:
    coms = layers["communities"].to_crs(METRIC)
    grids = layers["grids"].to_crs(METRIC)
    by_com = grids.dissolve("parent_code").geometry
    com_geom = coms.set_index("code").geometry.loc[by_com.index]
    assert np.allclose(by_com.area.values, com_geom.area.values, rtol=1e-5)
    # the grids cover the towns (less the small gaps dropped as slivers)
    towns_area = float(shapely.union_all(layers["towns"].to_crs(METRIC).geometry.values).area)
    assert float(grids.area.sum()) > 0.9999 * towns_area


def test_patrol_points(layers: dict[str, gpd.GeoDataFrame]) -> None:
    pp, grids = layers["patrol_points"], layers["grids"].set_index("code")
    assert len(pp) > 0 and pp["code"].is_unique and pp["name"].is_unique
    assert set(pp["kind"]) <= {
        "key_point",
        "joint_defence_point",
        "patrol_station",
        "security_post",
    }
    assert pp["must_visit"].dtype == bool
    assert (pp.geom_type == "Point").all()
    geoms = grids.geometry.loc[pp["grid_code"]].values
    assert shapely.contains(geoms, pp.geometry.values).all()


def test_demo_point_in_exactly_one_grid(city: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    hits = shapely.contains_xy(layers["grids"].geometry.values, DEMO_LON, DEMO_LAT)
    assert hits.sum() == 1
    manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    assert layers["grids"]["code"].values[hits][0] == manifest["demo_grid_code"]


# --------------------------------------------------------------------------
# people and rosters
# --------------------------------------------------------------------------


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _on_duty(rows: pd.DataFrame, weekday: int, minute: int) -> pd.Series:
    """Rows on duty at ISO weekday/minute of day; an overnight shift belongs to its start day."""
    start = rows["start"].map(_minutes)
    end = rows["end"].map(_minutes)
    today = rows["weekdays"].str.contains(str(weekday))
    yesterday = rows["weekdays"].str.contains(str(7 if weekday == 1 else weekday - 1))
    day = (start < end) & today & (start <= minute) & (minute < end)
    night = (start >= end) & ((today & (minute >= start)) | (yesterday & (minute < end)))
    return day | night


def _current(rosters: pd.DataFrame, date: str = "2026-11-11") -> pd.DataFrame:
    ok = (rosters["valid_from"] <= date) & (
        (rosters["valid_until"] == "") | (rosters["valid_until"] >= date)
    )
    return rosters[ok]


def test_people(people: pd.DataFrame, layers: dict[str, gpd.GeoDataFrame]) -> None:
    grids = set(layers["grids"]["code"])
    coms = set(layers["communities"]["code"])
    towns = set(layers["towns"]["code"])
    assert set(people["role"]) == {"officer", "chief", "dispatcher"}
    assert people["phone"].str.fullmatch(r"1\d{10}").all()
    assert people["code"].str.fullmatch(r"P\d{5}").all()
    assert not people.duplicated(["code", "unit_code"]).any()
    persons = people.drop_duplicates("code")
    assert persons["phone"].is_unique
    assert persons.groupby("code")["role"].nunique().max() == 1
    role_units = {"officer": grids, "chief": coms, "dispatcher": towns}
    for role, units in role_units.items():
        assert set(people.loc[people["role"] == role, "unit_code"]) <= units
    officer_grids = set(people.loc[people["role"] == "officer", "unit_code"])
    assert 0 < len(grids - officer_grids) < 0.1 * len(grids)  # some grids left without officer
    chiefs = people.loc[people["role"] == "chief", "unit_code"]
    assert chiefs.is_unique and len(chiefs) < len(coms)
    per_town = people[people["role"] == "dispatcher"].groupby("unit_code").size()
    assert set(per_town.index) == towns and per_town.between(2, 3).all()


def test_roster_format(rosters: pd.DataFrame, people: pd.DataFrame) -> None:
    assert rosters["weekdays"].str.fullmatch(r"1?2?3?4?5?6?7?").all()
    assert (rosters["weekdays"] != "").all()
    assert rosters["start"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    assert rosters["end"].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    assert rosters["valid_from"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert rosters["valid_until"].str.fullmatch(r"(\d{4}-\d{2}-\d{2})?").all()
    pairs = set(zip(people["code"], people["unit_code"], strict=True))
    assert set(zip(rosters["person_code"], rosters["unit_code"], strict=True)) <= pairs


def test_demo_grid_staffed_all_week(city: Path, rosters: pd.DataFrame) -> None:
    demo = json.loads((city / "manifest.json").read_text(encoding="utf-8"))["demo_grid_code"]
    rows = _current(rosters[rosters["unit_code"] == demo])
    for weekday in range(1, 8):
        for hour in range(24):
            for minute in (hour * 60, hour * 60 + 30, hour * 60 + 59):
                assert _on_duty(rows, weekday, minute).any(), (weekday, hour)


def test_officers_mostly_on_duty_by_day_not_at_night(
    rosters: pd.DataFrame, layers: dict[str, gpd.GeoDataFrame]
) -> None:
    n_grids = len(layers["grids"])
    officers = _current(rosters[rosters["unit_code"].str.count("-") == 2])
    wed_10 = officers[_on_duty(officers, 3, 10 * 60)]["unit_code"].nunique()
    sun_03 = officers[_on_duty(officers, 7, 3 * 60)]["unit_code"].nunique()
    assert wed_10 > 0.75 * n_grids
    assert sun_03 < 0.10 * n_grids


# --------------------------------------------------------------------------
# reports and hotspots
# --------------------------------------------------------------------------


def test_reports_inside_city_except_documented_share(
    city: Path, reports: pd.DataFrame, city_union: shapely.Geometry
) -> None:
    manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    inside = shapely.contains_xy(city_union, reports["lon"].to_numpy(), reports["lat"].to_numpy())
    n_out = int((~inside).sum())
    assert n_out == manifest["counts"]["reports_outside"]
    assert 0 < n_out <= 0.006 * len(reports)
    out = gpd.GeoSeries(
        gpd.points_from_xy(reports["lon"][~inside], reports["lat"][~inside]), crs=4326
    ).to_crs(METRIC)
    metric_city = gpd.GeoSeries([city_union], crs=4326).to_crs(METRIC).iloc[0]
    assert out.distance(metric_city).max() <= manifest["outside_max_m"]


def test_reports_time_window_and_rhythm(reports: pd.DataFrame) -> None:
    local = reports["occurred_at"].dt.tz_convert("Asia/Shanghai")
    assert local.min() >= pd.Timestamp("2025-11-16", tz="Asia/Shanghai")
    assert local.max() < pd.Timestamp("2026-11-16", tz="Asia/Shanghai")
    assert reports["occurred_at"].is_monotonic_increasing
    hours = local.dt.hour.value_counts()
    assert hours.loc[[2, 3, 4]].sum() * 5 < hours.loc[[8, 9, 10]].sum()
    assert hours.loc[[18, 19, 20]].sum() > hours.loc[[13, 14, 15]].sum()


def test_report_categories_in_taxonomy(reports: pd.DataFrame, taxonomy: dict[str, Any]) -> None:
    codes = {c["code"] for c in taxonomy["category"]}
    assert set(reports["category"]) <= codes
    share = reports["category"].value_counts(normalize=True)
    assert share["garbage_piled"] > 0.1 and share["illegal_parking"] > 0.1
    assert share.get("crime_lead", 0) < 0.01


#: ISO weeks (Monday..Sunday) of the period 2025-11-16 (a Sunday) .. 2026-11-15.
ISO_WEEKS = pd.period_range("2025-11-16", "2026-11-15", freq="W-SUN")


def test_planted_hotspots(city: Path, reports: pd.DataFrame, taxonomy: dict[str, Any]) -> None:
    """The planted patterns follow ESRI's emerging hot spot definitions on ISO weeks:
    new = the final week only; sporadic = on and off, on in the final week; historical =
    on in at least 90 % of the weeks but not at the end."""
    spots = json.loads((city / "planted_hotspots.json").read_text(encoding="utf-8"))
    assert 5 <= len(spots) <= 8
    assert len(ISO_WEEKS) == 53 and str(ISO_WEEKS[-1].start_time.date()) == "2026-11-09"
    codes = {c["code"] for c in taxonomy["category"]}
    patterns = {"new", "persistent", "intensifying", "diminishing", "sporadic", "historical"}
    assert {s["pattern"] for s in spots} == patterns
    local = reports["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    pts = gpd.GeoSeries(gpd.points_from_xy(reports["lon"], reports["lat"]), crs=4326).to_crs(METRIC)
    for s in spots:
        assert list(s) == HOTSPOT_KEYS
        assert s["category"] in codes and s["pattern"] in patterns
        assert 150 <= s["radius_m"] <= 400 and s["extra_reports"] > 0
        start = pd.Timestamp(s["start_date"])
        end = pd.Timestamp(s["end_date"]) + pd.Timedelta(days=1) if s["end_date"] else None
        centre = gpd.GeoSeries(gpd.points_from_xy([s["lon"]], [s["lat"]]), crs=4326)
        centre_m = centre.to_crs(METRIC).iloc[0]
        in_disc = (pts.distance(centre_m) <= s["radius_m"]).to_numpy()
        mine = in_disc & (reports["category"] == s["category"]).to_numpy()
        weekly = local[mine].dt.to_period("W-SUN").value_counts().reindex(ISO_WEEKS, fill_value=0)
        mask = mine & (local >= start).to_numpy()
        if end is not None:
            mask &= (local < end).to_numpy()
        assert mask.sum() >= s["extra_reports"], s["name"]
        if s["pattern"] == "new":
            assert start == ISO_WEEKS[-1].start_time and end is None
            assert weekly.iloc[-1] == mask.sum() and weekly.iloc[:-1].sum() == 0
        if s["pattern"] == "sporadic":
            assert end is None and weekly.iloc[-1] > 0 and weekly.iloc[-2] == 0
            assert 5 <= (weekly > 0).sum() < 0.9 * len(ISO_WEEKS)
        if s["pattern"] == "historical":
            assert start == pd.Timestamp("2025-11-16") and end is not None
            assert pd.Timestamp("2026-10-26") <= end <= ISO_WEEKS[-2].start_time
            assert (weekly > 0).sum() >= 0.9 * len(ISO_WEEKS) and weekly.iloc[-2:].sum() == 0


# --------------------------------------------------------------------------
# determinism, scale, progress
# --------------------------------------------------------------------------


def test_deterministic(city: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_sample_city(again, seed=SEED, scale=SCALE)
    for name in FILES:
        if name == "manifest.json":
            a = json.loads((city / name).read_text(encoding="utf-8"))
            b = json.loads((again / name).read_text(encoding="utf-8"))
            a.pop("build_date")
            b.pop("build_date")
            assert a == b
        else:
            assert (city / name).read_bytes() == (again / name).read_bytes(), name
    other = tmp_path / "other"
    build_sample_city(other, seed=SEED + 1, scale=SCALE)
    a_rep = pd.read_parquet(city / "reports.parquet")
    b_rep = pd.read_parquet(other / "reports.parquet")
    assert not a_rep.equals(b_rep)


def test_manifest_returned_and_progress(tmp_path: Path) -> None:
    calls: list[tuple[str, float]] = []
    manifest = build_sample_city(
        tmp_path, seed=7, scale=0.02, progress=lambda s, f: calls.append((s, f))
    )
    on_disk = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert asdict(manifest) == on_disk
    assert calls[-1] == ("done", 1.0)
    assert all(0.0 <= f <= 1.0 for _, f in calls)
    assert {"grids", "reports"} <= {s for s, _ in calls}


def test_bad_scale_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        build_sample_city(tmp_path, scale=0)


def test_full_scale_city(tmp_path: Path) -> None:
    """The full city: 2,000–4,000 grids and 150k–250k reports, built in well under a minute."""
    assert 2000 <= expected_grid_count() <= 4000
    t0 = time.perf_counter()
    manifest = build_sample_city(tmp_path)
    assert time.perf_counter() - t0 < 60
    counts = manifest.counts
    assert 2000 <= counts["grids"] <= 4000
    assert abs(counts["grids"] - expected_grid_count()) < 0.05 * counts["grids"]
    assert 10 * 35 <= counts["communities"] <= 30 * 35
    assert 150_000 <= counts["reports"] <= 250_000
    assert 100 <= counts["patrol_points"] <= 1000
    grids = gpd.read_file(tmp_path / "city.gpkg", layer="grids")
    per_town = grids["parent_code"].str[:4].value_counts()
    # urban subdistricts get more, smaller grids than rural towns
    assert per_town["DG06"] > per_town["DG32"]  # 东城街道 vs 谢岗镇
    coms = gpd.read_file(tmp_path / "city.gpkg", layer="communities")
    assert coms["parent_code"].value_counts().between(10, 30).all()


# --------------------------------------------------------------------------
# taxonomy
# --------------------------------------------------------------------------

REQUIRED_CATEGORIES = {
    "消防通道堵塞",
    "广告牌安全隐患",
    "垃圾堆积",
    "无证流动加油车",
    "非法倾倒工业固废",
    "违规停车",
    "不文明养犬",
    "违规张贴小广告",
    "电动车违规充电",
    "可疑人员",
    "可疑车辆",
    "可疑物品",
    "非法聚集",
    "治安隐患",
    "突发事件",
    "违法犯罪线索",
}


def test_taxonomy(taxonomy: dict[str, Any]) -> None:
    deps = taxonomy["department"]
    cats = taxonomy["category"]
    snake = re.compile(r"[a-z][a-z0-9_]*")
    dep_codes = [d["code"] for d in deps]
    assert len(set(dep_codes)) == len(dep_codes)
    for d in deps:
        assert snake.fullmatch(d["code"]) and d["name"] and d["name_en"]
    assert {c["name"] for c in cats} >= REQUIRED_CATEGORIES
    codes = [c["code"] for c in cats]
    assert len(set(codes)) == len(codes)
    for c in cats:
        assert snake.fullmatch(c["code"]) and c["name"] and c["name_en"]
        assert c["group"] in {"governance", "public_security"}
        assert c["department"] in dep_codes
        assert 0 < c["ack_minutes"] <= c["verify_minutes"] <= c["close_minutes"]
        assert isinstance(c["reward_yuan"], float) and c["reward_yuan"] > 0
        assert isinstance(c["points"], int) and c["points"] > 0
        assert c.get("duplicate_radius_m", 100) > 0
        if c["code"] != "crime_lead":
            assert 5 <= c["reward_yuan"] <= 50
    by_code = {c["code"]: c for c in cats}
    assert by_code["crime_lead"]["reward_yuan"] > 50
    assert by_code["emergency_incident"]["ack_minutes"] < by_code["garbage_piled"]["ack_minutes"]
