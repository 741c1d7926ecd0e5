"""Hot-spot maps as folium pages that work on an intranet with no internet.

Dispatch staff keep these maps open all day on networks that cannot reach a
CDN, so every script and stylesheet the page links is one that gridwatch
serves itself (``/static/vendor``, see ``api/static/vendor/README.md``);
:func:`render_html` refuses a page that links anything else.

Cities are big: the sample city at resolution 9 is 24,000 hexagons. The
hexagons are therefore one shared GeoJSON FeatureCollection (coordinates
rounded, only the properties the page shows) drawn by small Leaflet layers
that filter and colour it in the browser, instead of one folium object per
cell; a caller can also pass a URL so that the page fetches the collection
instead of inlining it.

Everything here is pure: tables and GeoDataFrames in, folium maps and
strings out. The caller decides what to show (and, for the public map, what
must never be shown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template
from numpy.typing import NDArray

from geo.crs import from_wgs84, transform_geometries
from geo.emerging import EMERGING_PATTERNS
from geo.errors import GeoInputError
from geo.h3cells import cells_to_polygons
from geo.hotspots import ALPHA_LEVELS, class_labels

BASEMAPS = ("osm", "gcj02", "none")
LANGS = ("zh", "en")
VENDOR_PREFIX = "/static/vendor"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
GCJ02_TILES = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
#: Above this many hexagons the layers draw on a canvas: SVG slows down with tens of thousands.
CANVAS_ABOVE = 8000
#: Grid outlines are switched on when there are at most this many (a town), off for a city.
GRIDS_SHOWN = 300

#: folium's default links (names as folium uses them) → files under ``VENDOR_PREFIX``.
VENDOR_JS: tuple[tuple[str, str], ...] = (
    ("leaflet", "leaflet-1.9.4/leaflet.js"),
    ("jquery", "jquery-3.7.1/jquery.min.js"),
    ("bootstrap", "bootstrap-5.2.2/bootstrap.bundle.min.js"),
    ("awesome_markers", "leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.js"),
)
VENDOR_CSS: tuple[tuple[str, str], ...] = (
    ("leaflet_css", "leaflet-1.9.4/leaflet.css"),
    ("bootstrap_css", "bootstrap-5.2.2/bootstrap.min.css"),
    ("awesome_markers_font_css", "fontawesome-free-6.2.0/css/all.min.css"),
    ("awesome_markers_css", "leaflet.awesome-markers-2.0.5/leaflet.awesome-markers.css"),
)
CLUSTER_JS: tuple[tuple[str, str], ...] = (
    ("markerclusterjs", "leaflet.markercluster-1.5.3/leaflet.markercluster.js"),
)
CLUSTER_CSS: tuple[tuple[str, str], ...] = (
    ("markerclustercss", "leaflet.markercluster-1.5.3/MarkerCluster.css"),
    ("markerclusterdefaultcss", "leaflet.markercluster-1.5.3/MarkerCluster.Default.css"),
)

#: ArcGIS Pro's Hot Spot Analysis renderer, by Gi_Bin.
GI_COLOURS: dict[int, str] = {
    -3: "#4575b5",
    -2: "#849eba",
    -1: "#c0ccbe",
    0: "#ffffbf",
    1: "#fab984",
    2: "#ed7551",
    3: "#d62f27",
}
#: Emerging patterns: reds for the hot family, blues and purples for the cold one.
EMERGING_COLOURS: dict[str, str] = {
    "new_hot_spot": "#f4a582",
    "consecutive_hot_spot": "#fdae61",
    "intensifying_hot_spot": "#b2182b",
    "persistent_hot_spot": "#d6604d",
    "diminishing_hot_spot": "#f1b6da",
    "sporadic_hot_spot": "#fee08b",
    "oscillating_hot_spot": "#c51b7d",
    "historical_hot_spot": "#8c510a",
    "new_cold_spot": "#92c5de",
    "consecutive_cold_spot": "#abd9e9",
    "intensifying_cold_spot": "#2166ac",
    "persistent_cold_spot": "#4393c3",
    "diminishing_cold_spot": "#c2a5cf",
    "sporadic_cold_spot": "#d1e5f0",
    "oscillating_cold_spot": "#762a83",
    "historical_cold_spot": "#01665e",
    "no_pattern": "#ffffff",
}
#: Sequential YlOrRd, for the counts choropleth.
COUNT_COLOURS: tuple[str, ...] = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: Case states on the map: open ones warm, finished ones green, rejected grey.
STATUS_COLOURS: dict[str, str] = {
    "reported": "#e31a1c",
    "routed": "#fd8d3c",
    "acknowledged": "#fecc5c",
    "verified": "#6a51a3",
    "in_progress": "#3182bd",
    "resolved": "#74c476",
    "closed": "#238b45",
    "rejected": "#969696",
}
#: Patrol point kinds → (awesome-markers colour, Font Awesome icon).
PATROL_ICONS: dict[str, tuple[str, str]] = {
    "key_point": ("red", "star"),
    "joint_defence_point": ("blue", "shield-halved"),
    "security_post": ("darkblue", "user-shield"),
    "patrol_station": ("green", "flag"),
}

_EMERGING_ZH = {
    "new": "新增",
    "consecutive": "连续",
    "intensifying": "加强",
    "persistent": "持续",
    "diminishing": "减弱",
    "sporadic": "零星",
    "oscillating": "振荡",
    "historical": "历史",
}

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "counts": "报告数量",
        "gi": "热点分析 (Gi*)",
        "emerging": "时空热点趋势",
        "grids": "网格边界",
        "towns": "镇街边界",
        "cases": "案件",
        "patrol": "巡逻点位",
        "cell": "H3 单元",
        "count": "报告数",
        "z": "Gi* z 值",
        "class": "类别",
        "pattern": "趋势模式",
        "duty": "值班",
        "code": "编码",
        "name": "名称",
        "status": "状态",
        "category": "类型",
        "reported": "上报时间",
        "case": "案件",
        "reports": "份报告",
        "hotspot_title": "热点分析",
        "emerging_title": "时空热点趋势",
        "public_title": "报告热力分布（公开）",
        "public_note": "每个单元至少 {k} 份报告才显示",
        "no_pattern": "无显著模式",
        "all_dates": "全部日期",
        "source_cases": "数据：案件库",
        "source_sample_reports": "数据：样例城市合成报告",
    },
    "en": {
        "counts": "Report counts",
        "gi": "Hot spots (Gi*)",
        "emerging": "Emerging hot spots",
        "grids": "Grid boundaries",
        "towns": "Town boundaries",
        "cases": "Cases",
        "patrol": "Patrol points",
        "cell": "H3 cell",
        "count": "Reports",
        "z": "Gi* z-score",
        "class": "Class",
        "pattern": "Pattern",
        "duty": "On duty",
        "code": "Code",
        "name": "Name",
        "status": "Status",
        "category": "Category",
        "reported": "Reported",
        "case": "Case",
        "reports": "reports",
        "hotspot_title": "Hot spot analysis",
        "emerging_title": "Emerging hot spots",
        "public_title": "Where reports come from (public)",
        "public_note": "cells with fewer than {k} reports are not shown",
        "no_pattern": "No pattern detected",
        "all_dates": "all dates",
        "source_cases": "Data: the case store",
        "source_sample_reports": "Data: the sample city's synthetic reports",
    },
}
STATUS_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "reported": "已上报",
        "routed": "已分派",
        "acknowledged": "已受理",
        "verified": "已核实",
        "in_progress": "处置中",
        "resolved": "已处置",
        "closed": "已办结",
        "rejected": "不予立案",
    },
    "en": {s: s.replace("_", " ") for s in STATUS_COLOURS},
}
PATROL_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "key_point": "重点点位",
        "joint_defence_point": "警民联防点",
        "security_post": "治安岗亭",
        "patrol_station": "巡逻站",
    },
    "en": {k: k.replace("_", " ") for k in PATROL_ICONS},
}


def gi_class_text(lang: str) -> dict[int, str]:
    """Gi_Bin → label in ``lang`` (English labels are ArcGIS's)."""
    english = class_labels(ALPHA_LEVELS)
    if lang == "en":
        return english
    out = {0: "不显著"}
    for b, label in english.items():
        if b:
            kind = "热点" if b > 0 else "冷点"
            out[b] = f"{kind} - {label.split(' - ')[1].replace(' Confidence', '')} 置信度"
    return out


def emerging_text(lang: str) -> dict[str, str]:
    """Emerging pattern key → label in ``lang``."""
    if lang == "en":
        return dict(EMERGING_PATTERNS)
    out = {"no_pattern": TEXT["zh"]["no_pattern"]}
    for key in EMERGING_PATTERNS:
        if key != "no_pattern":
            trend, kind = key.split("_")[0], key.split("_")[1]
            out[key] = _EMERGING_ZH[trend] + ("热点" if kind == "hot" else "冷点")
    return out


def check_options(basemap: str, lang: str) -> None:
    """Refuse an unknown basemap or language with the valid values."""
    if basemap not in BASEMAPS:
        raise GeoInputError(f"unknown basemap {basemap!r}; use one of {', '.join(BASEMAPS)}")
    if lang not in LANGS:
        raise GeoInputError(f"unknown lang {lang!r}; use one of {', '.join(LANGS)}")


# --------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------


def parse_cells(cells: Any) -> NDArray[np.uint64]:
    """H3 cells as uint64, from uint64 or from hexadecimal strings."""
    arr = np.asarray(cells)
    if arr.dtype.kind in "ui":
        return arr.astype(np.uint64)
    try:
        return np.fromiter((int(c, 16) for c in arr.ravel()), dtype=np.uint64, count=arr.size)
    except (TypeError, ValueError) as exc:
        raise GeoInputError(f"cells must be H3 indexes (integers or hex strings): {exc}") from exc


def display_geometries(geoms: Any, crs: str = "wgs84", precision: int = 6) -> NDArray[Any]:
    """WGS-84 geometries as drawn: shifted into ``crs`` (e.g. GCJ-02 for an Amap
    basemap) and rounded to ``precision`` decimals (6 is about 0.1 m)."""
    arr = np.asarray(geoms, dtype=object)
    if crs != "wgs84":
        arr = transform_geometries(arr, "wgs84", crs)
    return np.asarray(shapely.transform(arr, lambda xy: np.round(xy, precision)), dtype=object)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _records(frame: pd.DataFrame) -> list[str]:
    """Each row as a compact JSON object; NaN becomes null."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=_json_default)
        for row in clean.to_dict("records")
    ]


def features_geojson(
    geoms: Any,
    properties: pd.DataFrame,
    *,
    crs: str = "wgs84",
    precision: int = 6,
    meta: Mapping[str, Any] | None = None,
) -> str:
    """A GeoJSON FeatureCollection (text) of WGS-84 geometries and a table of properties.

    Built as text from GEOS's GeoJSON writer: a city's 24,000 hexagons take a
    fraction of a second instead of seconds through dicts. ``meta`` becomes
    foreign members of the collection (source, parameters, counts).
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) != len(properties):
        raise GeoInputError(f"{len(properties)} property rows for {len(geoms)} geometries")
    shapes = shapely.to_geojson(display_geometries(geoms, crs, precision))
    props = _records(properties.reset_index(drop=True))
    body = ",".join(
        f'{{"type":"Feature","properties":{p},"geometry":{g}}}'
        for p, g in zip(props, shapes, strict=True)
    )
    head = json.dumps(
        dict(meta or {}), ensure_ascii=False, separators=(",", ":"), default=_json_default
    )[1:-1]
    return f'{{"type":"FeatureCollection",{head + "," if head else ""}"features":[{body}]}}'


def cells_geojson(
    cells: Any,
    properties: pd.DataFrame,
    *,
    crs: str = "wgs84",
    precision: int = 6,
    meta: Mapping[str, Any] | None = None,
) -> str:
    """One hexagon Feature per H3 cell, with the given properties (see :func:`features_geojson`)."""
    polygons = cells_to_polygons(parse_cells(cells))
    return features_geojson(polygons, properties, crs=crs, precision=precision, meta=meta)


def count_breaks(counts: Any, classes: int = len(COUNT_COLOURS)) -> list[int]:
    """Upper bounds of the count classes: quantiles of the positive counts, distinct,
    so a skewed field still shows its structure (the last bound is the maximum)."""
    positive = np.asarray(counts, dtype=np.float64)
    positive = positive[positive > 0]
    if len(positive) == 0:
        return [1]
    qs = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:])
    return sorted({int(np.ceil(q)) for q in qs})


# --------------------------------------------------------------------------
# folium elements
# --------------------------------------------------------------------------


def _script_safe(text: str) -> str:
    """JSON inside a <script>: no '</' may close the element early."""
    return text.replace("</", "<\\/")


class SharedGeoJson(MacroElement):
    """A FeatureCollection that several layers draw: a promise of it, inline or fetched."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.source }};
        {% endmacro %}
        """
    )

    def __init__(self, data: str | None = None, url: str | None = None) -> None:
        super().__init__()
        self._name = "SharedGeoJson"
        if url is not None:
            self.source = (
                f"fetch({json.dumps(url)}, {{credentials: 'same-origin'}}).then(function (r) {{"
                " if (!r.ok) { throw new Error('map data: HTTP ' + r.status); }"
                " return r.json(); })"
            )
        else:
            self.source = f"Promise.resolve({_script_safe(data or '{}')})"


class GeoJsonLayer(Layer):
    """A Leaflet GeoJSON layer on a :class:`SharedGeoJson`, styled by JavaScript options."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {{ this.options_js }});
        {%- if this.tooltip_js %}
        {{ this.get_name() }}.bindTooltip({{ this.tooltip_js }}, {sticky: true});
        {%- endif %}
        {{ this.data.get_name() }}.then(function (d) {
            {{ this.get_name() }}.addData(d);
            window.gridwatchLayersLoaded = (window.gridwatchLayersLoaded || 0) + 1;
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: SharedGeoJson,
        options_js: str,
        *,
        name: str,
        tooltip_js: str | None = None,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.data = data
        self.options_js = options_js
        self.tooltip_js = tooltip_js


def _localise(
    element: Any, js: Sequence[tuple[str, str]], css: Sequence[tuple[str, str]], prefix: str
) -> None:
    """Point an element's script and stylesheet links at gridwatch's own copies."""
    element.default_js = [(name, f"{prefix}/{path}") for name, path in js]
    element.default_css = [(name, f"{prefix}/{path}") for name, path in css]


def _js(value: Any) -> str:
    """A Python value as a JavaScript literal that is safe inside <script>."""
    return _script_safe(json.dumps(value, ensure_ascii=False))


_ESCAPE_JS = (
    'function e(s) { return String(s).replace(/[&<>"]/g, function (c) {'
    " return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;'}[c]; }); }"
)


def _tooltip_js(rows: Sequence[tuple[str, str]]) -> str:
    """A tooltip function over a feature's properties ``p``: rows of (label, JS expression);
    text values go through ``e()``, which escapes HTML."""
    lines = " + '<br>' + ".join(
        f"{_js('<b>' + escape(label) + '</b> ')} + {expr}" for label, expr in rows
    )
    return f"function (l) {{ var p = l.feature.properties; {_ESCAPE_JS} return {lines}; }}"


# --------------------------------------------------------------------------
# the pages
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MapOptions:
    """How a page is drawn, whatever it shows.

    ``basemap`` is ``osm`` (WGS-84 tiles), ``gcj02`` (AutoNavi-style tiles;
    every overlay is shifted into GCJ-02) or ``none`` (a plain background);
    ``tiles`` replaces the basemap's tile URL (e.g. an intranet tile server in
    the same datum); ``lang`` is ``zh`` or ``en``; coordinates are rounded to
    ``precision`` decimals and outlines simplified by ``simplify`` degrees;
    hexagon layers of more than ``canvas_above`` cells draw on a canvas
    (tens of thousands of SVG paths are slow to draw and to pan).
    Every layer counts itself in ``window.gridwatchLayersLoaded`` once its data
    is drawn (tests and the benchmark wait for it).
    """

    basemap: str = "osm"
    lang: str = "zh"
    tiles: str | None = None
    vendor_prefix: str = VENDOR_PREFIX
    precision: int = 6
    simplify: float = 0.0001
    canvas_above: int = CANVAS_ABOVE

    def __post_init__(self) -> None:
        check_options(self.basemap, self.lang)

    @property
    def crs(self) -> str:
        """The datum overlays are drawn in: the basemap's."""
        return "gcj02" if self.basemap == "gcj02" else "wgs84"


class MapPage:
    """A folium map under construction, with the options every layer needs."""

    def __init__(self, options: MapOptions) -> None:
        self.options = options
        self.text = TEXT[options.lang]
        self.bounds: list[list[float]] | None = None
        self.map = folium.Map(
            location=[23.02, 113.75],
            zoom_start=11,
            tiles=None,
            control_scale=True,
            maxZoom=19,  # clusters need it when no tile layer sets one (basemap "none")
        )
        _localise(self.map, VENDOR_JS, VENDOR_CSS, options.vendor_prefix)
        name = "底图" if options.lang == "zh" else "Basemap"
        if options.basemap == "osm":
            folium.TileLayer(
                tiles=options.tiles or OSM_TILES,
                name=name,
                max_zoom=19,
                attr="&copy; OpenStreetMap contributors",
            ).add_to(self.map)
        elif options.basemap == "gcj02":
            folium.TileLayer(
                tiles=options.tiles or GCJ02_TILES,
                name=name,
                max_zoom=18,
                attr="&copy; 高德地图 AutoNavi",
                subdomains="1234",
            ).add_to(self.map)
        else:
            self._header("gw_plain", "<style>.folium-map { background: #f4f3ef; }</style>")

    def _header(self, name: str, html: str) -> None:
        root: Any = self.map.get_root()
        root.header.add_child(Element(html), name=name)

    def _data(self, geoms: Any, props: pd.DataFrame) -> SharedGeoJson:
        data = SharedGeoJson(
            features_geojson(geoms, props, crs=self.options.crs, precision=self.options.precision)
        )
        data.add_to(self.map)
        return data

    def outlines(self, grids: pd.DataFrame | None, towns: pd.DataFrame | None) -> None:
        """Town and grid outlines (GeoDataFrames in WGS-84 with ``code``, ``name`` and
        optionally ``duty``: who is on duty), names and duty in the tooltip."""
        for frame, key, style, show in (
            (towns, "towns", "{color: '#333', weight: 2, fill: false}", True),
            (
                grids,
                "grids",
                "{color: '#2c7fb8', weight: 0.8, fillOpacity: 0}",
                grids is not None and len(grids) <= GRIDS_SHOWN,
            ),
        ):
            if frame is None or len(frame) == 0:
                continue
            columns = [c for c in ("name", "code", "duty") if c in frame.columns]
            geoms = np.asarray(frame.geometry.values, dtype=object)
            if self.options.simplify > 0:
                geoms = shapely.simplify(geoms, self.options.simplify, preserve_topology=True)
            data = self._data(geoms, pd.DataFrame(frame[columns]))
            GeoJsonLayer(
                data,
                f"{{style: {style}, className: 'gw-{key}'}}",
                name=self.text[key],
                tooltip_js=_tooltip_js([(self.text[c], f"e(p.{c} || '—')") for c in columns]),
                show=show,
            ).add_to(self.map)

    def hexagons(self, cells: Any, props: pd.DataFrame, data_url: str | None) -> SharedGeoJson:
        """The shared hexagon collection, inline or fetched from ``data_url``."""
        polygons = cells_to_polygons(parse_cells(cells))
        shown = display_geometries(polygons, self.options.crs, self.options.precision)
        self.bounds = _bounds(shown)
        if data_url is None:
            return self._data(polygons, props)
        data = SharedGeoJson(url=data_url)
        data.add_to(self.map)
        return data

    def hex_layer(
        self,
        data: SharedGeoJson,
        *,
        name: str,
        colour: str,
        keep: str,
        class_name: str,
        tooltip: Sequence[tuple[str, str]],
        size: int,
        show: bool = True,
        opacity: str = "0.72",
    ) -> None:
        """A layer of the hexagons for which the JS expression ``keep`` holds, filled with
        the JS expressions ``colour`` and ``opacity`` (over the feature's properties ``p``)."""
        canvas = size > self.options.canvas_above
        renderer = "renderer: L.canvas({padding: 0.5}), " if canvas else ""
        options = (
            f"{{{renderer}className: {_js(class_name)},"
            f" filter: function (f) {{ var p = f.properties; return {keep}; }},"
            " style: function (f) { var p = f.properties;"
            f" return {{fillColor: {colour}, fillOpacity: {opacity}, color: '#555',"
            " weight: 0.4}; }}"
        )
        GeoJsonLayer(data, options, name=name, tooltip_js=_tooltip_js(tooltip), show=show).add_to(
            self.map
        )

    def gi_layer(self, data: SharedGeoJson, tooltip: Sequence[tuple[str, str]], size: int) -> None:
        """Every hexagon in its Gi* class colour (not significant ones pale, as ArcGIS does)."""
        self.hex_layer(
            data,
            name=self.text["gi"],
            colour=f"{_js({str(k): v for k, v in GI_COLOURS.items()})}[p.gi_bin]",
            keep="true",
            opacity="p.gi_bin === 0 ? 0.25 : 0.78",
            class_name="gw-hex gw-hex-gi",
            tooltip=tooltip,
            size=size,
        )

    def cases(self, cases: pd.DataFrame | None) -> None:
        """Cases as clustered circle markers coloured by state (``id``, ``lat``, ``lon``,
        ``status``, optionally ``category`` and ``reported``)."""
        if cases is None or len(cases) == 0:
            return
        status_text = STATUS_TEXT[self.options.lang]
        lat, lon = from_wgs84(
            np.asarray(cases["lat"], dtype=float),
            np.asarray(cases["lon"], dtype=float),
            self.options.crs,
        )
        rows = []
        for a, b, row in zip(lat, lon, cases.to_dict("records"), strict=True):
            details = [
                f"{escape(self.text[key])}: {escape(str(value))}"
                for key, value in (
                    ("status", status_text.get(row["status"], row["status"])),
                    ("category", row.get("category")),
                    ("reported", row.get("reported")),
                )
                if value
            ]
            popup = "<br>".join([f"<b>{escape(self.text['case'])} #{int(row['id'])}</b>", *details])
            rows.append([round(float(a), 6), round(float(b), 6), str(row["status"]), popup])
        callback = (
            f"function (row) {{ var c = {_js(STATUS_COLOURS)};"
            " var m = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 7, color: '#222',"
            " weight: 1, fillColor: c[row[2]] || '#000', fillOpacity: 0.9, className: 'gw-case'});"
            " m.bindPopup(row[3]); return m; }"
        )
        cluster = folium.plugins.FastMarkerCluster(rows, callback=callback, name=self.text["cases"])
        _localise(cluster, CLUSTER_JS, CLUSTER_CSS, self.options.vendor_prefix)
        cluster.add_to(self.map)

    def patrol(self, points: pd.DataFrame | None) -> None:
        """Patrol points (GeoDataFrame with ``code``, ``name``, ``kind``) as icon markers."""
        if points is None or len(points) == 0:
            return
        frame = pd.DataFrame(points[[c for c in ("code", "name", "kind") if c in points.columns]])
        if "kind" in frame.columns:
            frame["kind_label"] = frame["kind"].map(PATROL_TEXT[self.options.lang])
        data = self._data(np.asarray(points.geometry.values, dtype=object), frame)
        icons = {k: {"markerColor": c, "icon": i} for k, (c, i) in PATROL_ICONS.items()}
        options = (
            f"{{pointToLayer: function (f, latlng) {{ var o = {_js(icons)}[f.properties.kind]"
            " || {markerColor: 'cadetblue', icon: 'location-dot'};"
            " return L.marker(latlng, {icon: L.AwesomeMarkers.icon({icon: o.icon, prefix: 'fa',"
            " markerColor: o.markerColor})}); }}"
        )
        rows = [
            (self.text["name"], "e(p.name)"),
            (self.text["code"], "e(p.code)"),
            ("", "e(p.kind_label || '')"),
        ]
        GeoJsonLayer(
            data, options, name=self.text["patrol"], tooltip_js=_tooltip_js(rows), show=False
        ).add_to(self.map)

    def legend(
        self,
        title: str,
        sections: Sequence[tuple[str, Sequence[tuple[str, str]]]],
        notes: Sequence[str],
    ) -> None:
        """A fixed legend box: a title, colour swatches per section, notes (e.g. the source)."""
        parts = [f"<div class='gw-legend-title'>{escape(title)}</div>"]
        for heading, items in sections:
            parts.append(f"<div class='gw-legend-head'>{escape(heading)}</div>")
            parts.extend(
                f"<div><span class='gw-swatch' style='background:{colour}'></span>"
                f"{escape(label)}</div>"
                for colour, label in items
            )
        parts.extend(f"<div class='gw-legend-note'>{escape(n)}</div>" for n in notes)
        self._header("gw_legend_css", _LEGEND_CSS)
        root: Any = self.map.get_root()
        root.html.add_child(Element(f"<div class='gw-legend'>{''.join(parts)}</div>"))

    def finish(self) -> folium.Map:
        folium.LayerControl(collapsed=False).add_to(self.map)
        if self.bounds is not None:
            self.map.fit_bounds(self.bounds)
        return self.map


_LEGEND_CSS = (
    "<style>.gw-legend{position:absolute;z-index:1000;bottom:26px;right:10px;background:#fff;"
    "padding:8px 10px;border-radius:4px;box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.45 "
    "system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:260px}"
    ".gw-legend-title{font-weight:600;font-size:13px;margin-bottom:4px}"
    ".gw-legend-head{font-weight:600;margin-top:6px}.gw-legend-note{color:#555;margin-top:6px}"
    ".gw-swatch{display:inline-block;width:14px;height:12px;margin-right:6px;"
    "vertical-align:-2px;border:1px solid #888}</style>"
)


def _bounds(polygons: NDArray[Any]) -> list[list[float]] | None:
    if len(polygons) == 0:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _count_items(breaks: Sequence[int]) -> list[tuple[str, str]]:
    """Legend rows of the count classes: '1', '2–4', ..."""
    items = []
    low = 1
    for colour, high in zip(COUNT_COLOURS, breaks, strict=False):
        items.append((colour, f"{low}" if low >= high else f"{low}–{high}"))
        low = high + 1
    return items


def _count_colour_js(breaks: Sequence[int]) -> str:
    return (
        f"(function (n) {{ var b = {_js(list(breaks))}, c = {_js(list(COUNT_COLOURS))};"
        " for (var i = 0; i < b.length; i++) { if (n <= b[i]) { return c[i]; } }"
        " return c[b.length - 1]; })(p.count)"
    )


def hotspot_properties(hotspots: pd.DataFrame) -> pd.DataFrame:
    """What the hot-spot map needs of each cell (``data_url`` must serve these)."""
    return pd.DataFrame(
        {
            "cell": hotspots["cell"].to_numpy(),
            "count": hotspots["count"].to_numpy(),
            "gi_z": np.round(np.asarray(hotspots["gi_z"], dtype=float), 2),
            "gi_bin": np.asarray(hotspots["gi_bin"], dtype=int),
        }
    )


def emerging_properties(emerging: pd.DataFrame) -> pd.DataFrame:
    """What the emerging map needs of each cell (``data_url`` must serve these)."""
    return pd.DataFrame(
        {
            "cell": emerging["cell"].to_numpy(),
            "count": emerging["count"].to_numpy(),
            "pattern": emerging["pattern"].to_numpy(),
        }
    )


def hotspot_map(
    hotspots: pd.DataFrame,
    *,
    options: MapOptions | None = None,
    grids: pd.DataFrame | None = None,
    towns: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    patrol_points: pd.DataFrame | None = None,
    data_url: str | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> folium.Map:
    """The staff hot-spot map: Gi* classes and a counts choropleth over the hexagons,
    town and grid outlines, cases and patrol points, a legend and a layer control.

    Parameters
    ----------
    hotspots
        The field (e.g. :func:`geo.hotspots.hotspot_table`): ``cell``, ``count``,
        ``gi_z``, ``gi_bin``; every cell, zeros included. The Gi* layer draws
        every cell (not significant ones pale, as ArcGIS does), the counts
        layer only cells with reports.
    options
        Basemap, language, precision (:class:`MapOptions`).
    grids, towns
        Outlines (GeoDataFrames in WGS-84) with ``code``, ``name``, ``duty``.
    cases
        ``id``, ``lat``, ``lon``, ``status`` (+ ``category``, ``reported``).
    patrol_points
        GeoDataFrame with ``code``, ``name``, ``kind``.
    data_url
        Fetch the hexagons from this URL (GeoJSON with the same properties,
        in the basemap's datum) instead of inlining them: for large fields.
    notes
        Lines at the foot of the legend (the data source, the window).
    """
    page = MapPage(options or MapOptions())
    text = page.text
    page.outlines(grids, towns)
    props = hotspot_properties(hotspots)
    data = page.hexagons(props["cell"], props, data_url)
    breaks = count_breaks(props["count"])
    gi_text = gi_class_text(page.options.lang)
    tooltip = [
        (text["cell"], "p.cell"),
        (text["count"], "p.count"),
        (text["z"], "(+p.gi_z).toFixed(2)"),
        (text["class"], f"{_js({str(k): v for k, v in gi_text.items()})}[p.gi_bin]"),
    ]
    page.hex_layer(
        data,
        name=text["counts"],
        colour=_count_colour_js(breaks),
        keep="p.count > 0",
        class_name="gw-hex gw-hex-count",
        tooltip=tooltip,
        size=len(props),
        show=False,
    )
    page.gi_layer(data, tooltip, size=len(props))
    page.patrol(patrol_points)
    page.cases(cases)
    gi_items = [(GI_COLOURS[b], gi_text[b]) for b in (3, 2, 1, 0, -1, -2, -3)]
    page.legend(
        title or text["hotspot_title"],
        [(text["gi"], gi_items), (text["counts"], _count_items(breaks))],
        notes,
    )
    return page.finish()


def emerging_map(
    emerging: pd.DataFrame,
    *,
    options: MapOptions | None = None,
    grids: pd.DataFrame | None = None,
    towns: pd.DataFrame | None = None,
    cases: pd.DataFrame | None = None,
    patrol_points: pd.DataFrame | None = None,
    data_url: str | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> folium.Map:
    """The emerging hot-spot map: the pattern of each cell (``cell``, ``pattern``,
    ``count``, e.g. :func:`geo.emerging.emerging_hotspots`); cells with no pattern are
    not drawn. Other parameters as :func:`hotspot_map`."""
    page = MapPage(options or MapOptions())
    text = page.text
    labels = emerging_text(page.options.lang)
    page.outlines(grids, towns)
    props = emerging_properties(emerging)
    data = page.hexagons(props["cell"], props, data_url)
    page.hex_layer(
        data,
        name=text["emerging"],
        colour=f"{_js(EMERGING_COLOURS)}[p.pattern]",
        keep="p.pattern !== 'no_pattern'",
        class_name="gw-hex gw-hex-emerging",
        tooltip=[
            (text["cell"], "p.cell"),
            (text["count"], "p.count"),
            (text["pattern"], f"{_js(labels)}[p.pattern]"),
        ],
        size=len(props),
    )
    page.patrol(patrol_points)
    page.cases(cases)
    present = set(props["pattern"])
    items = [
        (EMERGING_COLOURS[key], labels[key])
        for key in EMERGING_PATTERNS
        if key != "no_pattern" and key in present
    ]
    page.legend(
        title or text["emerging_title"],
        [(text["pattern"], items or [(EMERGING_COLOURS["no_pattern"], labels["no_pattern"])])],
        notes,
    )
    return page.finish()


def counts_map(
    counts: pd.DataFrame,
    *,
    options: MapOptions | None = None,
    towns: pd.DataFrame | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> folium.Map:
    """A counts-only choropleth of ``cell`` and ``count``: the public map. It draws
    exactly the rows it is given; leaving small counts out is the caller's job."""
    page = MapPage(options or MapOptions())
    text = page.text
    page.outlines(None, towns)
    props = pd.DataFrame({"cell": counts["cell"].to_numpy(), "count": counts["count"].to_numpy()})
    data = page.hexagons(props["cell"], props, None)
    breaks = count_breaks(props["count"])
    page.hex_layer(
        data,
        name=text["counts"],
        colour=_count_colour_js(breaks),
        keep="p.count > 0",
        class_name="gw-hex gw-hex-count",
        tooltip=[(text["count"], "p.count")],
        size=len(props),
    )
    page.legend(title or text["public_title"], [(text["counts"], _count_items(breaks))], notes)
    return page.finish()


_LINK = re.compile(r"<(?:script[^>]*\ssrc|link[^>]*\shref)=\"([^\"]+)\"", re.IGNORECASE)


def external_links(page: str, allowed_prefix: str = "/static/") -> list[str]:
    """Script and stylesheet links of a page that gridwatch does not serve itself."""
    return [url for url in _LINK.findall(page) if not url.startswith(allowed_prefix)]


def render_html(m: folium.Map, *, allowed_prefix: str = "/static/") -> str:
    """The page as HTML; refuses a page that would load a script or stylesheet from
    anywhere but gridwatch (a folium upgrade adding a CDN link fails loudly here)."""
    page = m.get_root().render()
    outside = external_links(page, allowed_prefix)
    if outside:
        raise RuntimeError(
            "the map page links files gridwatch does not serve: "
            + ", ".join(sorted(set(outside)))
            + "; vendor them under api/static/vendor and map them in geo/maps.py"
        )
    return page


__all__ = [
    "BASEMAPS",
    "COUNT_COLOURS",
    "EMERGING_COLOURS",
    "GCJ02_TILES",
    "GI_COLOURS",
    "LANGS",
    "OSM_TILES",
    "STATUS_COLOURS",
    "TEXT",
    "VENDOR_CSS",
    "VENDOR_JS",
    "MapOptions",
    "cells_geojson",
    "check_options",
    "count_breaks",
    "counts_map",
    "display_geometries",
    "emerging_map",
    "emerging_properties",
    "emerging_text",
    "external_links",
    "features_geojson",
    "gi_class_text",
    "hotspot_map",
    "hotspot_properties",
    "parse_cells",
    "render_html",
]
