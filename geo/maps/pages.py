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

This module holds the page builders; their parts live beside it, and every
public name of those parts can also be imported from here:
:mod:`geo.maps.style` (basemaps, vendored files, colours, texts),
:mod:`geo.maps.geojson` (GeoJSON text of cells and geometries),
:mod:`geo.maps.layers` (folium elements and the JavaScript they carry) and
:mod:`geo.maps.page` (:class:`MapOptions` and :class:`MapPage`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import pandas as pd

from geo.emerging import EMERGING_PATTERNS
from geo.maps.geojson import cells_geojson, display_geometries, features_geojson, parse_cells
from geo.maps.layers import GeoJsonLayer, SharedGeoJson, js_literal
from geo.maps.page import Basemap, MapOptions, MapPage
from geo.maps.style import (
    BASEMAP_CRS,
    CANVAS_ABOVE,
    CLUSTER_CSS,
    CLUSTER_JS,
    COUNT_COLOURS,
    EMERGING_COLOURS,
    GI_COLOURS,
    GRIDS_SHOWN,
    LANGS,
    PATROL_ICONS,
    PATROL_TEXT,
    STATUS_COLOURS,
    STATUS_TEXT,
    TEXT,
    VENDOR_CSS,
    VENDOR_JS,
    VENDOR_PREFIX,
    check_options,
    emerging_text,
    gi_class_text,
)


def count_breaks(counts: Any, classes: int = len(COUNT_COLOURS)) -> list[int]:
    """Upper bounds of the count classes: quantiles of the positive counts, distinct,
    so a skewed field still shows its structure (the last bound is the maximum)."""
    positive = np.asarray(counts, dtype=np.float64)
    positive = positive[positive > 0]
    if len(positive) == 0:
        return [1]
    qs = np.quantile(positive, np.linspace(0, 1, classes + 1)[1:])
    return sorted({int(np.ceil(q)) for q in qs})


def _count_items(breaks: Sequence[int]) -> list[tuple[str, str]]:
    """Legend rows of the count classes: '1', '2–4', ..."""
    items = []
    low = 1
    for colour, high in zip(COUNT_COLOURS, breaks, strict=False):
        items.append((colour, f"{low}" if low >= high else f"{low}–{high}"))
        low = high + 1
    return items


def _count_colour_js(breaks: Sequence[int]) -> str:
    b, c = js_literal(list(breaks)), js_literal(list(COUNT_COLOURS))
    return (
        f"(function (n) {{ var b = {b}, c = {c};"
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
        (text["class"], f"{js_literal({str(k): v for k, v in gi_text.items()})}[p.gi_bin]"),
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
        colour=f"{js_literal(EMERGING_COLOURS)}[p.pattern]",
        keep="p.pattern !== 'no_pattern'",
        class_name="gw-hex gw-hex-emerging",
        tooltip=[
            (text["cell"], "p.cell"),
            (text["count"], "p.count"),
            (text["pattern"], f"{js_literal(labels)}[p.pattern]"),
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
            + "; vendor them under api/static/vendor and list them in geo/maps/style.py"
        )
    return page


__all__ = [
    "BASEMAP_CRS",
    "CANVAS_ABOVE",
    "CLUSTER_CSS",
    "CLUSTER_JS",
    "COUNT_COLOURS",
    "EMERGING_COLOURS",
    "GI_COLOURS",
    "GRIDS_SHOWN",
    "LANGS",
    "PATROL_ICONS",
    "PATROL_TEXT",
    "STATUS_COLOURS",
    "STATUS_TEXT",
    "TEXT",
    "VENDOR_CSS",
    "VENDOR_JS",
    "VENDOR_PREFIX",
    "Basemap",
    "GeoJsonLayer",
    "MapOptions",
    "MapPage",
    "SharedGeoJson",
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
