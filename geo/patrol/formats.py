"""Writing a patrol plan for its readers: JSON for the API, GeoJSON for maps, GPX for phones.

Each format is derived from the same :class:`~geo.patrol.plan.Plan`, so the
stops, their order and their times agree everywhere. Timestamps are ISO 8601
with the UTC offset of the team's shift start (e.g. ``2024-05-01T08:12:00+08:00``);
GPX stores them in UTC, as its schema requires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gpxpy
import gpxpy.gpx

from geo.patrol.plan import Plan, PlannedStop, TeamRoute

__all__ = ["plan_to_geojson", "plan_to_gpx", "plan_to_json"]


def _iso(t: datetime) -> str:
    return t.isoformat()


def _stop_json(stop: PlannedStop) -> dict[str, Any]:
    return {
        "id": stop.id,
        "lat": stop.lat,
        "lon": stop.lon,
        "arrive": _iso(stop.arrive),
        "depart": _iso(stop.depart),
        "prize": stop.prize,
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict, the shape of the API and of ``--out plan.json``.

    ``{"teams": [{"team", "stops": [{"id", "lat", "lon", "arrive", "depart", "prize"}],
    "travel_s", "dwell_s"}], "total_prize", "dropped", "dropped_must", "warnings"}``;
    stops in visiting order, times as ISO 8601 strings.
    """
    return {
        "teams": [
            {
                "team": route.team,
                "stops": [_stop_json(s) for s in route.stops],
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
    degenerate line. Stop features (``kind: "stop"``) carry the stop's id,
    team, order (from 1), times, prize and, for must-visit points, their name.
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
            props["must"] = stop.must
            if stop.name is not None:
                props["name"] = stop.name
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


def plan_to_gpx(plan: Plan, *, creator: str = "gridwatch") -> str:
    """GPX 1.1 for the members' phones: a ``<rte>`` per team and a ``<wpt>`` per stop.

    Each route point is a stop in visiting order, named ``"<team> #<n> <name or id>"``
    with its arrival time (UTC); the start and end of the route are route
    points too, so the phone draws the whole loop. Written with gpxpy.
    """
    gpx = gpxpy.gpx.GPX()
    gpx.creator = creator
    gpx.name = "gridwatch patrol plan"
    gpx.description = f"total prize {plan.total_prize:g}; teams {len(plan.teams)}"
    for route in plan.teams:
        rte = gpxpy.gpx.GPXRoute(name=route.team, description=f"patrol route of {route.team}")
        rte.points.append(
            gpxpy.gpx.GPXRoutePoint(
                latitude=route.start_lat,
                longitude=route.start_lon,
                time=route.shift_start.astimezone(UTC),
                name=f"{route.team} start",
            )
        )
        for order, stop in enumerate(route.stops, start=1):
            rte.points.append(
                gpxpy.gpx.GPXRoutePoint(
                    latitude=stop.lat,
                    longitude=stop.lon,
                    time=stop.arrive.astimezone(UTC),
                    name=_stop_label(route, order, stop),
                    description=_stop_description(stop),
                )
            )
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=stop.lat,
                    longitude=stop.lon,
                    time=stop.arrive.astimezone(UTC),
                    name=_stop_label(route, order, stop),
                    description=_stop_description(stop),
                    type="must-visit" if stop.must else "hotspot",
                )
            )
        rte.points.append(
            gpxpy.gpx.GPXRoutePoint(
                latitude=route.end_lat,
                longitude=route.end_lon,
                time=route.finish.astimezone(UTC),
                name=f"{route.team} end",
            )
        )
        gpx.routes.append(rte)
    return gpx.to_xml(version="1.1")
