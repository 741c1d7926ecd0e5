"""geo.maps.pages: GeoJSON of cells, folium pages that link only gridwatch's own files."""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.crs import wgs84_to_gcj02
from geo.errors import GeoInputError
from geo.h3cells import grid_disks, latlng_to_cells
from geo.hotspots import hotspot_table
from geo.maps.pages import (
    CLUSTER_CSS,
    CLUSTER_JS,
    EMERGING_COLOURS,
    GI_COLOURS,
    VENDOR_CSS,
    VENDOR_JS,
    Basemap,
    MapOptions,
    cells_geojson,
    count_breaks,
    counts_map,
    emerging_map,
    emerging_text,
    external_links,
    features_geojson,
    gi_class_text,
    hotspot_map,
    render_html,
)
from tests.conftest import REPO

CENTRE = latlng_to_cells(np.array([23.02]), np.array([113.75]), 9)


@pytest.fixture(scope="module")
def field() -> pd.DataFrame:
    """A res-9 field with a cluster in the middle: some hot cells, many zeros."""
    cells = grid_disks(CENTRE, 8)
    rng = np.random.default_rng(5)
    counts = rng.poisson(0.4, len(cells))
    counts[np.isin(cells, grid_disks(CENTRE, 1))] += 25
    return hotspot_table(cells, counts, k=1)


def _data_of(page: str) -> list[dict]:
    """The inline FeatureCollections of a page."""
    return [json.loads(m) for m in re.findall(r"Promise\.resolve\((\{.*?\})\);\n", page)]


def test_cells_geojson_rounds_and_keeps_every_cell(field: pd.DataFrame) -> None:
    text = cells_geojson(field["cell"], field[["cell", "count", "gi_z"]], meta={"source": "x"})
    body = json.loads(text)
    assert body["type"] == "FeatureCollection" and body["source"] == "x"
    assert [f["properties"]["cell"] for f in body["features"]] == field["cell"].tolist()
    first = body["features"][0]
    ring = first["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert all(len(str(v).split(".")[1]) <= 6 for xy in ring for v in xy)
    boundary = h3.cell_to_boundary(first["properties"]["cell"])  # (lat, lon)
    assert np.allclose([xy[::-1] for xy in ring[:-1]], boundary, atol=1e-6)
    assert len(text) / len(field) < 330  # bytes per hexagon, three properties


def test_gcj02_shifts_every_vertex() -> None:
    square = shapely.box(113.7, 23.0, 113.8, 23.1)
    props = pd.DataFrame({"name": ["a"], "value": [np.nan]})
    wgs = json.loads(features_geojson([square], props))["features"][0]
    gcj = json.loads(features_geojson([square], props, crs="gcj02"))["features"][0]
    assert wgs["properties"] == {"name": "a", "value": None}
    lon, lat = np.asarray(wgs["geometry"]["coordinates"][0]).T
    want_lat, want_lon = wgs84_to_gcj02(lat, lon)
    got = np.asarray(gcj["geometry"]["coordinates"][0])
    assert np.allclose(got[:, 0], want_lon, atol=1e-6) and np.allclose(
        got[:, 1], want_lat, atol=1e-6
    )
    with pytest.raises(GeoInputError, match="property rows"):
        features_geojson([square, square], props)


def test_count_breaks() -> None:
    assert count_breaks([0, 0, 0]) == [1]
    breaks = count_breaks([0, 1, 1, 1, 2, 3, 5, 8, 40, 200])
    assert breaks == sorted(set(breaks)) and breaks[-1] == 200 and breaks[0] >= 1
    assert len(breaks) <= 6


def test_hotspot_map_links_only_vendored_files(field: pd.DataFrame) -> None:
    page = render_html(hotspot_map(field, options=MapOptions()))
    assert external_links(page) == []
    links = re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', page)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in links
    for link in links:  # every linked file is in the repository
        assert (REPO / "api" / link.lstrip("/")).is_file(), link
    (data,) = _data_of(page)
    assert len(data["features"]) == len(field)
    assert set(data["features"][0]["properties"]) == {"cell", "count", "gi_z", "gi_bin"}
    assert "gw-hex-gi" in page and "gw-hex-count" in page
    assert "tile.openstreetmap.org" not in page and "autonavi" not in page
    for colour in GI_COLOURS.values():
        assert colour in page


def test_every_vendored_asset_exists() -> None:
    for _, path in (*VENDOR_JS, *VENDOR_CSS, *CLUSTER_JS, *CLUSTER_CSS):
        assert (REPO / "api" / "static" / "vendor" / path).is_file(), path
    readme = (REPO / "api" / "static" / "vendor" / "README.md").read_text()
    for name in (
        "leaflet",
        "jquery",
        "bootstrap",
        "awesome-markers",
        "fontawesome",
        "markercluster",
    ):
        assert name in readme


def test_basemaps_and_languages(field: pd.DataFrame) -> None:
    plain = render_html(hotspot_map(field))
    assert "L.tileLayer" not in plain and "http" not in "".join(
        re.findall(r'(?:src|href)="([^"]+)"', plain)
    )  # no basemap unless one is configured: nothing leaves the service
    amap = Basemap(url="http://tiles.lan/amap/{z}/{x}/{y}.png", crs="gcj02", attribution="高德")
    gcj = render_html(hotspot_map(field, options=MapOptions(basemap=amap, lang="en")))
    assert "http://tiles.lan/amap/{z}/{x}/{y}.png" in gcj and "Hot Spot - 99% Confidence" in gcj
    ring_wgs = _data_of(plain)[0]["features"][0]["geometry"]["coordinates"][0][0]
    ring_gcj = _data_of(gcj)[0]["features"][0]["geometry"]["coordinates"][0][0]
    lat, lon = wgs84_to_gcj02(ring_wgs[1], ring_wgs[0])
    assert ring_gcj == pytest.approx([float(lon), float(lat)], abs=2e-6)
    assert "热点 - 99% 置信度" in plain and gi_class_text("zh")[-3] == "冷点 - 99% 置信度"
    wgs = Basemap(url="/basemap/{z}/{x}/{y}", min_zoom=10, max_zoom=14, bounds=(113, 22, 114, 23))
    intranet = render_html(hotspot_map(field, options=MapOptions(basemap=wgs)))
    assert '"/basemap/{z}/{x}/{y}"' in intranet and '"maxNativeZoom": 14' in intranet
    assert _data_of(intranet)[0]["features"][0]["geometry"]["coordinates"][0][0] == ring_wgs
    with pytest.raises(GeoInputError, match="unknown basemap crs 'bd09'"):
        Basemap(url="http://x/{z}/{x}/{y}", crs="bd09")
    with pytest.raises(GeoInputError, match="unknown lang 'de'"):
        MapOptions(lang="de")


def test_overlays_escape_names_and_shift_markers(field: pd.DataFrame) -> None:
    grid = gpd.GeoDataFrame(
        {"code": ["G1"], "name": ["第1网格</script><b>"], "duty": ["张三 (P1)"]},
        geometry=[shapely.box(113.74, 23.01, 113.76, 23.03)],
        crs=4326,
    )
    cases = pd.DataFrame(
        {
            "id": [7, 8],
            "lat": [23.02, 23.021],
            "lon": [113.75, 113.751],
            "status": ["routed", "closed"],
            "category": ["<i>垃圾</i>", "x"],
            "reported": ["", ""],
        }
    )
    points = gpd.GeoDataFrame(
        {"code": ["PP1"], "name": ["联防点"], "kind": ["joint_defence_point"]},
        geometry=[shapely.Point(113.75, 23.02)],
        crs=4326,
    )
    page = render_html(
        hotspot_map(
            field,
            options=MapOptions(basemap=Basemap(url="http://tiles.lan/{z}/{x}/{y}", crs="gcj02")),
            grids=grid,
            towns=grid,
            cases=cases,
            patrol_points=points,
            notes=["数据：案件库"],
        )
    )
    assert page.count("</script>") == page.count("<script")  # no early close from a name
    assert "第1网格<\\/script>" in page and "张三 (P1)" in page
    # popups: HTML-escaped, then JSON-escaped by folium's template
    assert "\\u0026lt;i\\u0026gt;\\u5783\\u573e" in page  # <i>垃圾 as text
    assert "\\u003ci\\u003e" not in page and "<i>垃圾" not in page
    assert "markerClusterGroup" in page and "/static/vendor/leaflet.markercluster-1.5.3/" in page
    lat, lon = wgs84_to_gcj02(23.02, 113.75)
    assert f'[{round(float(lat), 6)}, {round(float(lon), 6)}, "routed"' in page  # shifted too
    assert "L.AwesomeMarkers.icon" in page and "shield-halved" in page
    assert "数据：案件库" in page and external_links(page) == []


def test_emerging_and_counts_maps() -> None:
    cells = grid_disks(CENTRE, 3)
    patterns = np.full(len(cells), "no_pattern", dtype=object)
    patterns[:3] = "new_hot_spot"
    patterns[3:5] = "persistent_cold_spot"
    table = pd.DataFrame(
        {
            "cell": [h3.int_to_str(int(c)) for c in cells],
            "count": np.arange(len(cells)),
            "pattern": patterns,
        }
    )
    page = render_html(emerging_map(table, options=MapOptions()))
    labels = emerging_text("zh")
    legend = re.search(r"<div class='gw-legend'>(.*?)</div>\s*</body>", page, re.S)
    assert legend is not None
    assert labels["new_hot_spot"] in legend.group(1) and labels["persistent_cold_spot"] in page
    assert labels["sporadic_hot_spot"] not in legend.group(1)  # only the patterns present
    assert EMERGING_COLOURS["new_hot_spot"] in page and external_links(page) == []
    shown = table[table["count"] >= 5]
    public = render_html(counts_map(shown, options=MapOptions(lang="en")))
    (data,) = _data_of(public)
    assert {f["properties"]["cell"] for f in data["features"]} == set(shown["cell"])
    assert set(data["features"][0]["properties"]) == {"cell", "count"}
    assert "gw-hex-gi" not in public and "markerCluster" not in public


def test_render_html_refuses_a_cdn_link(field: pd.DataFrame) -> None:
    page = hotspot_map(field, options=MapOptions())
    folium.plugins.MiniMap().add_to(page)  # folium's MiniMap links cdnjs
    with pytest.raises(RuntimeError, match="links files gridwatch does not serve"):
        render_html(page)
    assert external_links('<script src="https://cdn.x/a.js"></script>') == ["https://cdn.x/a.js"]
