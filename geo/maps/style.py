"""The maps' fixed choices: basemap datums and the files they link, colours, and texts.

Every script and stylesheet a page links is one gridwatch serves itself
(``VENDOR_PREFIX``, see ``api/static/vendor/README.md``); the colours follow
ArcGIS Pro's renderers; every label exists in Chinese and English.
"""

from __future__ import annotations

from geo.emerging import EMERGING_PATTERNS
from geo.errors import GeoInputError
from geo.hotspots import ALPHA_LEVELS, class_labels

BASEMAP_CRS = ("wgs84", "gcj02")
"""The datums a basemap's tiles may be in: WGS-84, or GCJ-02 (Amap, Tencent)."""
LANGS = ("zh", "en")
VENDOR_PREFIX = "/static/vendor"
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


def check_options(basemap_crs: str, lang: str) -> None:
    """Refuse an unknown basemap datum or language with the valid values."""
    if basemap_crs not in BASEMAP_CRS:
        raise GeoInputError(
            f"unknown basemap crs {basemap_crs!r}; use one of {', '.join(BASEMAP_CRS)}"
        )
    if lang not in LANGS:
        raise GeoInputError(f"unknown lang {lang!r}; use one of {', '.join(LANGS)}")
