"""A patrol plan drawn over the hot spots: one coloured route per team, numbered stops.

Built on :class:`geo.maps.pages.MapPage`, so it needs no file from the internet.
"""

from __future__ import annotations

from html import escape

import folium
import numpy as np
import pandas as pd

from geo.crs import from_wgs84
from geo.maps.pages import MapOptions, MapPage, hotspot_properties
from geo.patrol.plan import Plan

TEAM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


def plan_map(
    plan: Plan,
    *,
    hotspots: pd.DataFrame | None = None,
    options: MapOptions | None = None,
    towns: pd.DataFrame | None = None,
    title: str | None = None,
) -> folium.Map:
    """Routes start → stops → end per team, over the Gi* classes of ``hotspots`` if given."""
    page = MapPage(options or MapOptions())
    zh = page.options.lang == "zh"
    page.outlines(None, towns)
    if hotspots is not None and len(hotspots):
        props = hotspot_properties(hotspots)
        data = page.hexagons(props["cell"], props, None)
        page.gi_layer(data, [(page.text["z"], "(+p.gi_z).toFixed(2)")], size=len(props))
    points: list[list[float]] = []
    legend = []
    for n, route in enumerate(plan.teams):
        colour = TEAM_COLOURS[n % len(TEAM_COLOURS)]
        lat = np.array([route.start_lat, *(s.lat for s in route.stops), route.end_lat])
        lon = np.array([route.start_lon, *(s.lon for s in route.stops), route.end_lon])
        lat, lon = from_wgs84(lat, lon, page.options.crs)
        line = [[round(float(a), 6), round(float(b), 6)] for a, b in zip(lat, lon, strict=True)]
        points.extend(line)
        layer = folium.FeatureGroup(name=f"{'路线' if zh else 'Route'} {route.team}")
        folium.PolyLine(line, color=colour, weight=4, opacity=0.85, class_name="gw-route").add_to(
            layer
        )
        for i, stop in enumerate(route.stops, start=1):
            tip = (
                f"<b>{i}. {escape(str(stop.name or stop.id))}</b><br>"
                f"{'到达' if zh else 'arrive'} {stop.arrive:%H:%M} · "
                f"{'离开' if zh else 'leave'} {stop.depart:%H:%M}<br>"
                f"{'奖励' if zh else 'prize'} {stop.prize:.2f}"
                + (f" · {'必到' if zh else 'must visit'}" if stop.must else "")
            )
            folium.CircleMarker(
                line[i],
                radius=8 if stop.must else 6,
                color="#222",
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.95,
                tooltip=tip,
                class_name="gw-stop",
            ).add_to(layer)
        layer.add_to(page.map)
        legend.append((colour, f"{route.team}: {len(route.stops)} {'站' if zh else 'stops'}"))
    if points:
        page.bounds = [
            [min(p[0] for p in points), min(p[1] for p in points)],
            [max(p[0] for p in points), max(p[1] for p in points)],
        ]
    notes = [
        f"{'总奖励' if zh else 'total prize'} {plan.total_prize:.2f}",
        *(f"⚠ {w}" for w in plan.warnings),
    ]
    page.legend(title or ("巡逻路线" if zh else "Patrol routes"), [("", legend)], notes)
    return page.finish()


def gaps_map(gaps: dict, *, options: MapOptions | None = None) -> folium.Map:
    """Hot cells and must-visit points nobody checked in at lately (see
    :func:`grids.patrols.planning.coverage_gaps` for the shape of ``gaps``)."""
    page = MapPage(options or MapOptions())
    zh = page.options.lang == "zh"
    cells = pd.DataFrame(gaps["cells"], columns=["cell", "lat", "lon", "gi_z", "count"])
    if len(cells):
        props = pd.DataFrame(
            {
                "cell": cells["cell"],
                "gi_z": cells["gi_z"],
                "count": cells["count"],
                "gi_bin": np.where(cells["gi_z"] >= 2.576, 3, 2),
            }
        )
        data = page.hexagons(props["cell"], props, None)
        page.gi_layer(
            data,
            [(page.text["z"], "(+p.gi_z).toFixed(2)"), (page.text["count"], "p.count")],
            size=len(props),
        )
    layer = folium.FeatureGroup(name="未巡必到点位" if zh else "Unvisited must-visit points")
    for point in gaps["points"]:
        lat, lon = from_wgs84(point["lat"], point["lon"], page.options.crs)
        seen = point["last_visit"] or ("从未" if zh else "never")
        label = "上次巡到" if zh else "last visit"
        folium.CircleMarker(
            [round(float(lat), 6), round(float(lon), 6)],
            radius=8,
            color="#000",
            weight=2,
            fill=True,
            fill_color="#ffd400",
            fill_opacity=1,
            class_name="gw-gap-point",
            tooltip=f"<b>{escape(point['name'])}</b><br>{label}: {escape(seen)}",
        ).add_to(layer)
    layer.add_to(page.map)
    title = f"巡逻盲区（{gaps['hours']:g} 小时）" if zh else f"Coverage gaps ({gaps['hours']:g} h)"
    page.legend(
        title,
        [("", [("#ffd400", "必到点位 must-visit" if zh else "must-visit point")])],
        [f"{len(cells)} {'个热点格未巡' if zh else 'hot cells unvisited'}"],
    )
    return page.finish()
