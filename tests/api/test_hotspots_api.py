"""Hot spots, maps, the public map and summaries over HTTP, on both backends.

The store holds three weeks of cases (``tests.analytics_support.make_history``);
outside those weeks there is nothing (the store is the one source).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api.settings import Settings
from geo.aggregate import complete_field, counts_per_cell, study_area_cells
from geo.hotspots import hotspot_table
from geo.maps.pages import external_links
from grids.accounts.users import create_user
from grids.analytics.hotspots import area_cells
from grids.analytics.summaries import summarise
from grids.cases.models import Case
from grids.city.directory import Directory
from grids.city.models import Assignment, Person, Unit
from tests.analytics_support import (
    HISTORY_END,
    HISTORY_START,
    SUMMARY_DAY,
    TZ,
    analytics_app,
    make_history,
    samples_dir_for,
    settings_for,
)
from tests.conftest import HISTORY_SECRET, HistoryCity, Store

CASE_WINDOW = {"since": "2026-10-26", "until": "2026-11-16"}
SAMPLE_WINDOW = {"since": "2026-01-01", "until": "2026-07-01"}


@dataclass
class Env:
    store: Store
    settings: Settings
    client: TestClient
    tokens: dict[str, str]
    town: str
    other_town: str
    cases: list[Case]

    def get(self, path: str, who: str | None = "planner", **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(path, params=params, headers=headers)


@pytest.fixture(scope="module")
def env(
    city_store: Store, sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    make_history(city_store, sample_city_dir)
    tmp = tmp_path_factory.mktemp("hotspots_api")
    settings = settings_for(city_store, tmp, samples_dir_for(sample_city_dir, tmp))
    with city_store.transaction() as session:
        cases = list(session.scalars(select(Case).options(selectinload(Case.category))))
        towns = Counter(c.town_id for c in cases if c.town_id)
        town = session.get(Unit, towns.most_common(1)[0][0])
        other = session.scalar(select(Unit).where(Unit.level == "town", Unit.id != town.id))
        officer = session.scalar(
            select(Person.code)
            .join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.role == "officer")
            .order_by(Person.code)
        )
        specs = {
            "planner": ("planner", None, None),
            "admin": ("admin", None, None),
            "dispatcher": ("dispatcher", town.code, None),
            "patrol_leader": ("patrol_leader", town.code, None),
            "officer": ("officer", None, officer),
            "citizen": ("reporter", None, None),
        }
        tokens = {
            who: create_user(session, who, role, scope_code=scope, person_code=person)[1]
            for who, (role, scope, person) in specs.items()
        }
        town_code, other_code = town.code, other.code
        session.expunge_all()
    with TestClient(analytics_app(settings)) as client:
        yield Env(city_store, settings, client, tokens, town_code, other_code, cases)


@pytest.fixture(scope="module")
def year(
    history_city: HistoryCity, sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Env]:
    """The small city with its year of history (read only): enough reports in a town for
    the minimums of Gi* (30 cells with reports) and of emerging hot spots (10 time steps)."""
    tmp = tmp_path_factory.mktemp("hotspots_year")
    samples = samples_dir_for(sample_city_dir, tmp)
    settings = settings_for(history_city.store, tmp, samples, secret=HISTORY_SECRET)
    tokens = {who: history_city.token(who) for who in ("planner", "admin", "dispatcher")}
    town = next(a.scope for a in history_city.accounts if a.label == "dispatcher")
    assert town is not None
    with history_city.store.sessions() as session:
        other = session.scalar(
            select(Unit.code).where(Unit.level == "town", Unit.code != town).order_by(Unit.code)
        )
    with TestClient(analytics_app(settings)) as client:
        yield Env(history_city.store, settings, client, tokens, town, str(other), [])


def counted(cases: list[Case]) -> list[Case]:
    """Cases that count as reports: not rejected as invalid or duplicate, not merged."""
    return [
        c
        for c in cases
        if not (c.status == "rejected" and c.reject_reason in ("invalid", "duplicate"))
        and c.duplicate_of_id is None
    ]


def city_area(store: Store) -> shapely.Geometry:
    with store.sessions() as session:
        geoms = session.scalars(select(Unit.geom).where(Unit.level == "grid")).all()
    return shapely.union_all(np.asarray(geoms, dtype=object))


# --------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------


def test_hotspots_are_the_complete_field_of_the_cases(env: Env) -> None:
    response = env.get("/api/v1/hotspots", res=8, k=1, **CASE_WINDOW)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["source"] == "cases" and body["res"] == 8 and body["crs"] == "wgs84"
    window = [c for c in env.cases if HISTORY_START <= c.reported_at < HISTORY_END]
    good = counted(window)
    assert body["reports"] == len(good) and body["excluded_cases"] == len(window) - len(good) > 0
    features = body["features"]
    props = pd.DataFrame([f["properties"] for f in features])
    assert list(props.columns) == ["cell", "count", "gi_z", "gi_p", "gi_p_fdr", "gi_bin", "class"]
    assert props["count"].sum() == len(good) and (props["count"] == 0).any()
    assert all(f["geometry"]["type"] == "Polygon" for f in features)
    # the same statistic by hand: study area of every grid, cases' own cells
    cells = np.asarray([c.h3_cell for c in good], dtype=np.uint64)
    held, counts = counts_per_cell(cells, 8)
    field, values = complete_field(study_area_cells(city_area(env.store), 8), held, counts)
    want = hotspot_table(field, values, k=1)
    assert props["cell"].tolist() == want["cell"].tolist()
    assert np.allclose(props["gi_z"], want["gi_z"], atol=1e-12)
    assert props["class"].tolist() == want["class"].tolist()


def test_a_window_without_cases_has_no_reports_and_no_other_source(env: Env) -> None:
    """One source of truth: outside the cases' weeks there is nothing, never a side file
    (and nothing is below the minimum of Gi*: refused, not a map of zeros)."""
    for extra in ({}, {"source": "samples"}):
        empty = env.get("/api/v1/hotspots", res=7, **SAMPLE_WINDOW, **extra)
        assert empty.status_code == 422, empty.text
        assert empty.json()["source"] == "cases" and empty.json()["reports"] == 0


def test_unit_category_and_gcj02_output(env: Env, year: Env) -> None:
    town = env.get("/api/v1/hotspots", res=9, unit=env.town, **CASE_WINDOW).json()
    in_town = counted([c for c in env.cases if c.town_id and c.reported_at < HISTORY_END])
    with env.store.sessions() as session:
        town_id = session.scalar(select(Unit.id).where(Unit.code == env.town))
    assert town["unit"] == env.town
    assert town["reports"] == sum(1 for c in in_town if c.town_id == town_id)
    category = Counter(c.category.code for c in counted(env.cases)).most_common(1)[0][0]
    one = env.get("/api/v1/hotspots", res=8, category=category, **CASE_WINDOW).json()
    assert one["reports"] == sum(1 for c in counted(env.cases) if c.category.code == category)
    town_year = {"res": 8, "unit": year.town}
    wgs = year.get("/api/v1/hotspots", **town_year).json()["features"][0]
    gcj = year.get("/api/v1/hotspots", crs="gcj02", **town_year).json()["features"][0]
    (lon_w, lat_w), (lon_g, lat_g) = (
        wgs["geometry"]["coordinates"][0][0],
        gcj["geometry"]["coordinates"][0][0],
    )
    assert 0.001 < lon_g - lon_w < 0.01 and -0.01 < lat_g - lat_w < 0  # the GCJ-02 shift here


def test_emerging_geojson(env: Env, year: Env) -> None:
    response = year.get("/api/v1/hotspots/emerging", res=8, freq="week", unit=year.town)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "cases" and body["freq"] == "week"
    props = pd.DataFrame([f["properties"] for f in body["features"]])
    assert {"cell", "count", "pattern", "label", "trend_z", "hot_bins", "n_bins"} <= set(props)
    assert props["count"].sum() == body["reports"] and (props["n_bins"] >= 3).all()
    days = env.get("/api/v1/hotspots/emerging", res=8, freq="day", **CASE_WINDOW).json()
    assert days["source"] == "cases" and days["features"][0]["properties"]["n_bins"] == 21


def test_roles_and_scopes(env: Env) -> None:
    mine = env.get("/api/v1/hotspots", who="dispatcher", res=8).json()
    assert mine["unit"] == env.town  # a dispatcher's default is their own town
    assert env.get("/api/v1/hotspots", who="patrol_leader", res=8).json()["unit"] == env.town
    refused = env.get("/api/v1/hotspots", who="dispatcher", res=8, unit=env.other_town)
    assert refused.status_code == 403 and "outside your scope" in refused.json()["detail"]
    assert env.get("/api/v1/hotspots", who="dispatcher", res=8, unit="DG").status_code == 403
    assert env.get("/api/v1/hotspots", who="officer", res=8).status_code == 403
    assert env.get("/api/v1/hotspots", who="citizen", res=8).status_code == 403
    assert env.get("/api/v1/hotspots", who=None, res=8).status_code == 401
    env.client.cookies.set("gridwatch_token", env.tokens["admin"])
    try:  # a browser sends the token as a cookie
        admin = env.client.get("/api/v1/hotspots", params={"res": 7})
        assert admin.status_code == 200
    finally:
        env.client.cookies.clear()


@pytest.mark.parametrize(
    ("path", "params", "status", "fragment"),
    [
        ("/api/v1/hotspots", {"res": 16}, 422, "res must be an H3 resolution from 4 to 12"),
        ("/api/v1/hotspots", {"res": 3}, 422, "res must be"),
        ("/api/v1/hotspots", {"res": "nine"}, 422, "integer"),
        ("/api/v1/hotspots", {"k": 0}, 422, "k (the k-ring size) must be 1, 2 or 3"),
        ("/api/v1/hotspots", {"k": 4}, 422, "must be 1, 2 or 3"),
        ("/api/v1/hotspots", {"kernel": "box"}, 422, "unknown kernel 'box'"),
        ("/api/v1/hotspots", {"since": "2026-02-30"}, 422, "since '2026-02-30' is not a date"),
        ("/api/v1/hotspots", {"until": "yesterday"}, 422, "until 'yesterday' is not a date"),
        ("/api/v1/hotspots", {"since": "2026-11-10", "until": "2026-11-01"}, 422, "after since"),
        ("/api/v1/hotspots", {"category": "ufo_sighting"}, 422, "unknown category 'ufo_sighting'"),
        ("/api/v1/hotspots", {"unit": "XX99"}, 404, "no unit with code 'XX99'"),
        ("/api/v1/hotspots", {"crs": "bd09"}, 422, "crs must be wgs84 or gcj02"),
        ("/api/v1/hotspots", {"res": 12}, 422, "choose a coarser res or a smaller unit"),
        ("/api/v1/hotspots/emerging", {"freq": "hour"}, 422, "freq must be one of day, week"),
        ("/maps/hotspots", {"basemap": "osm"}, 422, "unknown basemap 'osm'"),
        ("/maps/hotspots", {"lang": "fr"}, 422, "unknown lang 'fr'"),
        ("/maps/emerging", {"k": 9}, 422, "must be 1, 2 or 3"),
        ("/api/v1/summaries", {"period": "year"}, 422, "period must be one of day, week, month"),
        ("/api/v1/summaries", {"date": "16/11/2026"}, 422, "use YYYY-MM-DD"),
        ("/api/v1/summaries", {"format": "xml"}, 422, "format must be json or csv"),
        ("/api/v1/summaries", {"unit": "XX99"}, 404, "no unit"),
        ("/reports/quarter", {}, 422, "period must be one of"),
    ],
)
def test_bad_input_is_a_clear_4xx(
    env: Env, path: str, params: dict[str, Any], status: int, fragment: str
) -> None:
    response = env.get(path, **params)
    assert response.status_code == status, response.text
    assert fragment in response.text


# --------------------------------------------------------------------------
# maps
# --------------------------------------------------------------------------


def test_map_pages_link_only_their_own_files(env: Env, year: Env) -> None:
    page = env.get("/maps/hotspots", res=9, basemap="none", **CASE_WINDOW)  # the city's cases
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert external_links(html) == [] and "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "gw-hex-gi" in html and "gw-hex-count" in html and "markerClusterGroup" in html
    assert "热点分析" in html and "值班" in html and "数据：案件库" in html
    english = year.get("/maps/hotspots", res=8, unit=year.town, lang="en").text
    assert "Hot Spot - 99% Confidence" in english and "L.tileLayer" not in english
    emerging = year.get("/maps/emerging", res=8, unit=year.town, basemap="none")
    assert emerging.status_code == 200 and external_links(emerging.text) == []
    assert "gw-hex-emerging" in emerging.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert env.client.get(asset).status_code == 200, asset


def test_large_fields_are_fetched_through_a_signed_link(year: Env) -> None:
    env = year
    options = {"res": 9, "unit": env.town}
    html = env.get("/maps/hotspots", inline="false", basemap="none", **options).text
    url = re.search(r'fetch\("(/maps/data/hotspots\.geojson\?[^"]+)"', html).group(1)
    data = env.client.get(url)  # no token: the link itself is the permission
    assert data.status_code == 200
    body = data.json()
    assert body["unit"] == env.town and body["features"]
    assert set(body["features"][0]["properties"]) == {"cell", "count", "gi_z", "gi_bin"}
    api = env.get("/api/v1/hotspots", **options).json()
    assert len(body["features"]) == len(api["features"])
    assert (
        env.client.get(url.replace(f"unit={env.town}", f"unit={env.other_town}")).status_code == 403
    )
    assert env.client.get(url[:-4] + "0000").status_code == 403


# --------------------------------------------------------------------------
# the public map
# --------------------------------------------------------------------------


def _public(env: Env, **params: Any) -> Any:
    return env.client.get("/public/maps/hotspots", params=params)


def test_public_map_never_shows_a_cell_under_k(env: Env) -> None:
    chosen = counted([c for c in env.cases if HISTORY_START <= c.reported_at < HISTORY_END])
    raw = Counter(h3.cell_to_parent(h3.int_to_str(c.h3_cell), 8) for c in chosen)
    assert any(0 < n < 5 for n in raw.values())  # there is something to hide
    body = _public(env, format="geojson", res=8, **CASE_WINDOW).json()
    shown = {f["properties"]["cell"]: f["properties"]["count"] for f in body["features"]}
    assert shown == {c: n for c, n in raw.items() if n >= 5}
    assert all(set(f["properties"]) == {"cell", "count"} for f in body["features"])
    stricter = _public(env, format="geojson", res=8, min_reports=6, **CASE_WINDOW).json()
    counts = [f["properties"]["count"] for f in stricter["features"]]
    assert all(n >= 6 for n in counts) and len(counts) == sum(n >= 6 for n in raw.values())


def test_public_map_never_shows_a_case(env: Env) -> None:
    window = counted([c for c in env.cases if c.reported_at < HISTORY_END])
    raw = Counter(h3.cell_to_parent(h3.int_to_str(c.h3_cell), 7) for c in window)
    body = _public(env, format="geojson", res=7, **CASE_WINDOW)
    assert body.status_code == 200
    geo = body.json()
    assert geo["source"] == "cases"
    shown = {f["properties"]["cell"]: f["properties"]["count"] for f in geo["features"]}
    assert shown == {c: n for c, n in raw.items() if n >= 5} and shown
    html = _public(env, res=7, **CASE_WINDOW).text
    assert external_links(html) == []
    for text in (body.text, html):
        assert "markerClusterGroup" not in text and "gw-case" not in text
        assert '"id"' not in text and "officer" not in text
        for case in env.cases:
            lat, lon = f"{case.lat:.6f}".rstrip("0"), f"{case.lon:.6f}".rstrip("0")
            for pair in (f"{lon},{lat}", f"{lat},{lon}", f"{lat}, {lon}", f"{lon}, {lat}"):
                assert pair not in text  # no case's position, in either order
            assert f"#{case.id}<" not in text
    assert "gw-hex-count" in html and "gw-hex-gi" not in html


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"min_reports": 2}, "min_reports must be at least 5"),
        ({"res": 10}, "res must be from 6 to 9"),
        ({"since": "2026-10-26T08:00"}, "must be a date, YYYY-MM-DD"),
        ({"format": "csv"}, "format must be html or geojson"),
        ({"category": "nope"}, "unknown category"),
    ],
)
def test_public_map_bad_input(env: Env, params: dict[str, Any], fragment: str) -> None:
    response = _public(env, **params)
    assert response.status_code == 422 and fragment in response.text


# --------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------


def test_summaries_json_csv_and_report(env: Env) -> None:
    day = SUMMARY_DAY.isoformat()
    body = env.get("/api/v1/summaries", period="week", date=day).json()
    with env.store.sessions() as session:
        direct = summarise(session, Directory.load(session), period="week", day=SUMMARY_DAY, tz=TZ)
    assert body == direct and body["counts"]["received"] > 0
    table = list(
        csv.DictReader(
            io.StringIO(env.get("/api/v1/summaries", period="week", date=day, format="csv").text)
        )
    )
    received = next(r for r in table if r["section"] == "counts" and r["key"] == "received")
    assert int(received["value"]) == body["counts"]["received"]
    assert int(received["previous"]) == body["previous"]["counts"]["received"]
    report = env.get("/reports/week", date=day)
    assert report.status_code == 200 and "<svg" in report.text and "2026-W46" in report.text
    assert "<script" not in report.text and "周汇报" in report.text
    assert "Weekly report" in env.get("/reports/week", date=day, lang="en").text
    mine = env.get("/api/v1/summaries", who="dispatcher", date=day).json()
    assert mine["unit"]["code"] == env.town
    assert env.get("/api/v1/summaries", who="dispatcher", unit=env.other_town).status_code == 403
    assert env.get("/reports/day", who="officer").status_code == 403
    assert env.get("/reports/month", who=None).status_code == 401


def test_the_study_area_is_every_grid_of_the_store(env: Env) -> None:
    """The field's zero cells come from the union of the store's grids."""
    locator = env.client.app.state.locators.get()  # type: ignore[attr-defined]
    assert np.array_equal(area_cells(locator, None, 8), study_area_cells(city_area(env.store), 8))


# --------------------------------------------------------------------------
# statistics on too little data (issue 9, finding 12)
# --------------------------------------------------------------------------


def test_gi_star_is_refused_below_30_cells_with_reports(env: Env) -> None:
    town = env.get("/api/v1/hotspots", res=9, k=1, unit=env.town, **CASE_WINDOW)
    body = town.json()
    assert town.status_code == 422, body
    assert "at least 30 cells" in body["detail"] and "Hot Spot Analysis" in body["detail"]
    assert body["cells_with_reports"] < 30 and body["minimum"] == 30 and "features" not in body
    assert body["source"] == "cases" and body["unit"] == env.town and body["reports"] > 0
    page = env.get("/maps/hotspots", res=9, unit=env.town, **CASE_WINDOW)
    assert page.status_code == 422  # nor drawn as a map
    city = env.get("/api/v1/hotspots", res=9, **CASE_WINDOW).json()
    assert city["cells_with_reports"] >= 30 and city["inference"] == "normal"


def test_emerging_is_refused_below_10_time_steps(env: Env) -> None:
    weeks = env.get("/api/v1/hotspots/emerging", res=8, freq="week", **CASE_WINDOW)
    body = weeks.json()
    assert weeks.status_code == 422, body
    assert "at least 10 time steps" in body["detail"] and body["time_steps"] == 3
    assert "features" not in body
    days = env.get("/api/v1/hotspots/emerging", res=8, freq="day", **CASE_WINDOW).json()
    assert days["time_steps"] == 21


def test_permutation_inference_is_seeded_and_classes_follow_it(year: Env) -> None:
    env = year
    params = {"res": 8, "unit": env.town}
    asked = {"inference": "permutation", "permutations": 199, "seed": 7}
    one = env.get("/api/v1/hotspots", **params, **asked).json()
    again = env.get("/api/v1/hotspots", **params, **asked).json()
    assert (one["inference"], one["permutations"], one["seed"]) == ("permutation", 199, 7)
    props = pd.DataFrame([f["properties"] for f in one["features"]])
    assert props["gi_p_sim"].tolist() == [f["properties"]["gi_p_sim"] for f in again["features"]]
    assert props["gi_p_sim"].between(1 / 200, 0.5 + 1e-9).all()
    # the same table as geo computes it with the same draws; classes from 2 · p_sim
    normal = pd.DataFrame(
        [f["properties"] for f in env.get("/api/v1/hotspots", **params).json()["features"]]
    )
    counts = normal["count"].to_numpy()
    field = np.array([h3.str_to_int(c) for c in normal["cell"]], dtype=np.uint64)
    want = hotspot_table(field, counts, k=1, permutations=199, seed=7)
    assert np.allclose(props["gi_p_sim"], want["gi_p_sim"])
    assert props["class"].tolist() == want["class"].tolist()
    assert np.allclose(props["gi_z"], normal["gi_z"])  # z is the same; its inference is not
    other = env.get("/api/v1/hotspots", **params, **(asked | {"seed": 8})).json()
    assert [f["properties"]["gi_p_sim"] for f in other["features"]] != props["gi_p_sim"].tolist()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"inference": "bayes"}, "inference must be one of normal, permutation"),
        ({"inference": "permutation", "permutations": 5}, "permutations must be from 99 to 9999"),
        ({"inference": "permutation", "seed": "x"}, "seed"),
    ],
)
def test_bad_inference_is_a_clear_422(env: Env, params: dict[str, Any], fragment: str) -> None:
    response = env.get("/api/v1/hotspots", res=8, **params)
    assert response.status_code == 422 and fragment in response.json()["detail"]
