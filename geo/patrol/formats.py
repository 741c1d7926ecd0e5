"""Writing a patrol plan for its readers: JSON for the API, GeoJSON for maps, GPX for phones.

Each format is derived from the same :class:`~geo.patrol.plan.Plan`, so the
stops, their order and their times agree everywhere. Timestamps are ISO 8601
with the UTC offset of the team's shift start (e.g. ``2024-05-01T08:12:00+08:00``);
GPX stores them in UTC, as its schema requires. Plans are computed in WGS-84;
JSON and GPX can be written in another datum (``crs="gcj02"`` for phones on
Amap or WeChat, ``"bd09"`` for Baidu); GeoJSON is always WGS-84 (RFC 7946).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gpxpy
import gpxpy.gpx

from geo.crs import from_wgs84, parse_crs
from geo.patrol.plan import Plan, PlannedStop, TeamRoute

__all__ = ["plan_to_geojson", "plan_to_gpx", "plan_to_json"]


def _iso(t: datetime) -> str:
    return t.isoformat()


def _in_datum(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """A WGS-84 position in ``crs`` (unchanged for wgs84)."""
    if crs == "wgs84":
        return lat, lon
    lat_out, lon_out = from_wgs84(lat, lon, crs)
    return round(float(lat_out), 7), round(float(lon_out), 7)


def _stop_json(stop: PlannedStop, crs: str = "wgs84") -> dict[str, Any]:
    lat, lon = _in_datum(stop.lat, stop.lon, crs)
    return {
        "id": stop.id,
        "name": stop.name if stop.name is not None else str(stop.id),
        "must": stop.must,
        "lat": lat,
        "lon": lon,
        "arrive": _iso(stop.arrive),
        "depart": _iso(stop.depart),
        "prize": stop.prize,
    }


def plan_to_json(plan: Plan, *, crs: str = "wgs84") -> dict[str, Any]:
    """The plan as a JSON-ready dict, the shape of the API and of ``--out plan.json``.

    ``{"teams": [{"team", "stops": [{"id", "name", "must", "lat", "lon", "arrive",
    "depart", "prize"}], "travel_s", "dwell_s"}], "crs", "total_prize", "dropped",
    "dropped_must", "warnings"}``; stops in visiting order, named by their own name
    (else their id), positions in ``crs``, times as ISO 8601 strings.
    """
    crs = parse_crs(crs)
    return {
        "crs": crs,
        "teams": [
            {
                "team": route.team,
                "stops": [_stop_json(s, crs) for s in route.stops],
                "travel_s": route.travel_s,
                "dwell_s": route.dwell_s,
            }
            for route in plan.teams
        ],
        "total_prize": plan.total_prize,
        "dropped": list(plan.dropped),
        "dropped_must": list(plan.dropped_must),
        "warnings": list(plan.warnings),
    }


def _route_coords(route: TeamRoute) -> list[list[float]]:
    coords = [[route.start_lon, route.start_lat]]
    coords += [[s.lon, s.lat] for s in route.stops]
    coords.append([route.end_lon, route.end_lat])
    return coords


def _route_geometry(route: TeamRoute) -> dict[str, Any]:
    coords = _route_coords(route)
    if len({tuple(c) for c in coords}) < 2:  # a team that stays at its base: no line to draw
        return {"type": "Point", "coordinates": coords[0]}
    return {"type": "LineString", "coordinates": coords}


def plan_to_geojson(plan: Plan) -> dict[str, Any]:
    """A FeatureCollection: one LineString per team (start → stops → end), one Point per stop.

    Route features (``kind: "route"``) carry the team, its travel and dwell
    seconds and its start/finish times; a team whose route has a single
    position (no stops, ending where it starts) gets a Point there instead of a
    degenerate line. Stop features (``kind: "stop"``) carry the stop's id, name
    (its id when it has none), team, order (from 1), times, prize and ``must``.
    Coordinates are [lon, lat] (RFC 7946).
    """
    features: list[dict[str, Any]] = []
    for route in plan.teams:
        features.append(
            {
                "type": "Feature",
                "geometry": _route_geometry(route),
                "properties": {
                    "kind": "route",
                    "team": route.team,
                    "stops": len(route.stops),
                    "travel_s": route.travel_s,
                    "dwell_s": route.dwell_s,
                    "prize": route.prize,
                    "start": _iso(route.shift_start),
                    "finish": _iso(route.finish),
                },
            }
        )
    for route in plan.teams:
        for order, stop in enumerate(route.stops, start=1):
            props: dict[str, Any] = {"kind": "stop", "team": route.team, "order": order}
            props.update(_stop_json(stop))
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
                    "properties": props,
                }
            )
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "total_prize": plan.total_prize,
            "dropped": list(plan.dropped),
            "dropped_must": list(plan.dropped_must),
            "warnings": list(plan.warnings),
        },
    }


def _stop_label(route: TeamRoute, order: int, stop: PlannedStop) -> str:
    what = stop.name if stop.name is not None else str(stop.id)
    return f"{route.team} #{order} {what}"


def _stop_description(stop: PlannedStop) -> str:
    kind = "must-visit" if stop.must else f"prize {stop.prize:g}"
    return f"id {stop.id}; {kind}; arrive {_iso(stop.arrive)}; depart {_iso(stop.depart)}"


def plan_to_gpx(plan: Plan, *, crs: str = "wgs84", creator: str = "gridwatch") -> str:
    """GPX 1.1 for the members' phones: a ``<rte>`` per team and a ``<wpt>`` per stop.

    Each route point is a stop in visiting order, named ``"<team> #<n> <name or id>"``
    with its arrival time (UTC); the start and end of the route are route
    points too, so the phone draws the whole loop. Positions are in ``crs``
    (GPX means WGS-84, but apps on Amap expect GCJ-02). Written with gpxpy.
    """
    crs = parse_crs(crs)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    gpx.name = "gridwatch patrol plan"
    gpx.description = f"total prize {plan.total_prize:g}; teams {len(plan.teams)}; datum {crs}"

    def route_point(lat: float, lon: float, at: datetime, name: str) -> gpxpy.gpx.GPXRoutePoint:
        lat, lon = _in_datum(lat, lon, crs)
        return gpxpy.gpx.GPXRoutePoint(
            latitude=lat, longitude=lon, time=at.astimezone(UTC), name=name
        )

    for route in plan.teams:
        rte = gpxpy.gpx.GPXRoute(name=route.team, description=f"patrol route of {route.team}")
        rte.points.append(
            route_point(route.start_lat, route.start_lon, route.shift_start, f"{route.team} start")
        )
        for order, stop in enumerate(route.stops, start=1):
            point = route_point(stop.lat, stop.lon, stop.arrive, _stop_label(route, order, stop))
            point.description = _stop_description(stop)
            rte.points.append(point)
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=point.latitude,
                    longitude=point.longitude,
                    time=point.time,
                    name=point.name,
                    description=point.description,
                    type="must-visit" if stop.must else "hotspot",
                )
            )
        rte.points.append(
            route_point(route.end_lat, route.end_lon, route.finish, f"{route.team} end")
        )
        gpx.routes.append(rte)
    return gpx.to_xml(version="1.1")
