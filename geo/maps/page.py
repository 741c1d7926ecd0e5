"""A map page under construction: basemap, outlines, hexagon layers, markers, legend.

:class:`MapPage` holds the folium map and the :class:`MapOptions` every layer
needs; the page builders (:mod:`geo.maps.pages`, :mod:`geo.patrol.maps`) add to it
and call :meth:`MapPage.finish`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import folium
import folium.plugins
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from numpy.typing import NDArray

from geo.crs import from_wgs84
from geo.h3cells import cells_to_polygons
from geo.maps.geojson import display_geometries, features_geojson, parse_cells
from geo.maps.layers import GeoJsonLayer, SharedGeoJson, js_literal, js_tooltip, localise_links
from geo.maps.style import (
    CANVAS_ABOVE,
    CLUSTER_CSS,
    CLUSTER_JS,
    GI_COLOURS,
    GRIDS_SHOWN,
    PATROL_ICONS,
    PATROL_TEXT,
    STATUS_COLOURS,
    STATUS_TEXT,
    TEXT,
    VENDOR_CSS,
    VENDOR_JS,
    VENDOR_PREFIX,
    check_options,
)


@dataclass(frozen=True)
class Basemap:
    """Tiles under the overlays: an XYZ ``url`` template and the datum its tiles are drawn
    in (``crs``: ``wgs84``, or ``gcj02`` for Amap and Tencent tiles, and then every overlay
    is shifted into GCJ-02 so they line up), with the zooms and WGS-84 ``bounds``
    (min_lon, min_lat, max_lon, max_lat) it has tiles for."""

    url: str
    crs: str = "wgs84"
    attribution: str = ""
    min_zoom: int = 0
    max_zoom: int = 19
    bounds: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        check_options(self.crs, "zh")


@dataclass(frozen=True)
class MapOptions:
    """How a page is drawn, whatever it shows.

    ``basemap`` is the configured tiles, or None: a plain background, so that a
    page asks no host but the service (an intranet has no internet);
    ``lang`` is ``zh`` or ``en``; coordinates are rounded to ``precision``
    decimals and outlines simplified by ``simplify`` degrees; hexagon layers of
    more than ``canvas_above`` cells draw on a canvas (tens of thousands of SVG
    paths are slow to draw and to pan). Every layer counts itself in
    ``window.gridwatchLayersLoaded`` once its data is drawn (tests and the
    benchmark wait for it).
    """

    basemap: Basemap | None = None
    lang: str = "zh"
    vendor_prefix: str = VENDOR_PREFIX
    precision: int = 6
    simplify: float = 0.0001
    canvas_above: int = CANVAS_ABOVE

    def __post_init__(self) -> None:
        check_options("wgs84", self.lang)

    @property
    def crs(self) -> str:
        """The datum overlays are drawn in: the basemap's."""
        return self.basemap.crs if self.basemap is not None else "wgs84"


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
        localise_links(self.map, VENDOR_JS, VENDOR_CSS, options.vendor_prefix)
        basemap = options.basemap
        if basemap is not None:
            west, south, east, north = basemap.bounds or (-180.0, -85.0, 180.0, 85.0)
            folium.TileLayer(
                tiles=basemap.url,
                name="底图" if options.lang == "zh" else "Basemap",
                attr=escape(basemap.attribution or "basemap"),
                min_zoom=0,
                max_zoom=19,
                min_native_zoom=basemap.min_zoom,
                max_native_zoom=basemap.max_zoom,
                bounds=[[south, west], [north, east]],
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
                tooltip_js=js_tooltip([(self.text[c], f"e(p.{c} || '—')") for c in columns]),
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
            f"{{{renderer}className: {js_literal(class_name)},"
            f" filter: function (f) {{ var p = f.properties; return {keep}; }},"
            " style: function (f) { var p = f.properties;"
            f" return {{fillColor: {colour}, fillOpacity: {opacity}, color: '#555',"
            " weight: 0.4}; }}"
        )
        GeoJsonLayer(data, options, name=name, tooltip_js=js_tooltip(tooltip), show=show).add_to(
            self.map
        )

    def gi_layer(self, data: SharedGeoJson, tooltip: Sequence[tuple[str, str]], size: int) -> None:
        """Every hexagon in its Gi* class colour (not significant ones pale, as ArcGIS does)."""
        self.hex_layer(
            data,
            name=self.text["gi"],
            colour=f"{js_literal({str(k): v for k, v in GI_COLOURS.items()})}[p.gi_bin]",
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
            f"function (row) {{ var c = {js_literal(STATUS_COLOURS)};"
            " var m = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 7, color: '#222',"
            " weight: 1, fillColor: c[row[2]] || '#000', fillOpacity: 0.9, className: 'gw-case'});"
            " m.bindPopup(row[3]); return m; }"
        )
        cluster = folium.plugins.FastMarkerCluster(rows, callback=callback, name=self.text["cases"])
        localise_links(cluster, CLUSTER_JS, CLUSTER_CSS, self.options.vendor_prefix)
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
            "{pointToLayer: function (f, latlng) {"
            f" var o = {js_literal(icons)}[f.properties.kind]"
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
            data, options, name=self.text["patrol"], tooltip_js=js_tooltip(rows), show=False
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
