"""Plan formats: the JSON shape of the API, valid GeoJSON geometries, GPX 1.1 that gpxpy reads back.

No GPX XSD is available offline, so GPX 1.1 is checked by parsing with gpxpy
(round trip), by the namespace and version of the root element, and by the
element order the schema prescribes (metadata, wpt*, rte*), with times in UTC.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import gpxpy
import pytest
import shapely
from shapely.geometry import LineString, Point, shape

from geo.patrol.formats import plan_to_geojson, plan_to_gpx, plan_to_json
from geo.patrol.plan import Candidate, MustVisit, Plan, Team, plan_routes

TZ = ZoneInfo("Asia/Shanghai")
GPX_NS = "http://www.topografix.com/GPX/1/1"


@pytest.fixture(scope="module")
def plan() -> Plan:
    cands = [
        Candidate(f"h{i}", 23.02 + 0.003 * i, 113.75 + 0.002 * (i % 4), 2.0 + i) for i in range(8)
    ]
    cands.append(Candidate(901, 23.3, 113.75, 9.0))  # out of reach: dropped, an int id
    musts = [
        MustVisit("k1", "联防点 1", 23.025, 113.752),
        MustVisit("k-far", "远处岗亭", 23.47, 113.75),  # 50 km away: dropped_must
    ]
    start = datetime(2024, 5, 1, 8, 0, tzinfo=TZ)
    teams = [
        Team("A", 23.02, 113.75, start, 90),
        Team("B", 23.01, 113.74, start, 60, end_lat=23.03, end_lon=113.76),
        Team("C", 23.02, 113.75, start, 5),  # too short for any stop: an empty route
    ]
    return plan_routes(cands, musts, teams)


def test_plan_fixture_covers_the_cases(plan: Plan) -> None:
    assert all(r.stops for r in plan.teams[:2]) and plan.teams[2].stops == ()
    assert 901 in plan.dropped
    assert plan.dropped_must == ("远处岗亭",)
    assert any(s.must for r in plan.teams for s in r.stops)


def test_json_has_exactly_the_documented_shape(plan: Plan) -> None:
    out = plan_to_json(plan)
    assert set(out) == {"crs", "teams", "total_prize", "dropped", "dropped_must", "warnings"}
    assert out["crs"] == "wgs84"
    assert [t["team"] for t in out["teams"]] == ["A", "B", "C"]
    for t_json, route in zip(out["teams"], plan.teams, strict=True):
        assert set(t_json) == {"team", "stops", "travel_s", "dwell_s"}
        assert t_json["travel_s"] == route.travel_s and t_json["dwell_s"] == route.dwell_s
        for s_json, stop in zip(t_json["stops"], route.stops, strict=True):
            assert set(s_json) == {
                "id",
                "name",
                "must",
                "lat",
                "lon",
                "arrive",
                "depart",
                "prize",
            }
            assert s_json["id"] == stop.id and s_json["must"] == stop.must
            assert s_json["name"] == (stop.name if stop.name is not None else str(stop.id))
            arrive = datetime.fromisoformat(s_json["arrive"])
            assert arrive == stop.arrive and arrive.utcoffset() is not None
            assert datetime.fromisoformat(s_json["depart"]) == stop.depart
            assert s_json["arrive"].endswith("+08:00")
    assert out["total_prize"] == plan.total_prize
    assert out["dropped"] == list(plan.dropped)
    assert out["dropped_must"] == ["远处岗亭"]
    assert out["warnings"] and "远处岗亭" in out["warnings"][0]
    # it is JSON, and survives a round trip unchanged
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out


def test_geojson_is_a_valid_feature_collection(plan: Plan) -> None:
    gj = plan_to_geojson(plan)
    assert gj["type"] == "FeatureCollection"
    json.dumps(gj)
    routes = [f for f in gj["features"] if f["properties"]["kind"] == "route"]
    points = [f for f in gj["features"] if f["properties"]["kind"] == "stop"]
    assert [f["properties"]["team"] for f in routes] == ["A", "B", "C"]
    # team C stays at its base: a Point, not a degenerate line
    assert shape(routes[2]["geometry"]).equals(Point(113.75, 23.02))
    lines = routes[:2]
    assert len(points) == sum(len(r.stops) for r in plan.teams)
    for feature in gj["features"]:
        assert feature["type"] == "Feature"
        geom = shape(feature["geometry"])
        assert geom.is_valid and not geom.is_empty
        assert shapely.get_coordinate_dimension(geom) == 2
    for f, route in zip(lines, plan.teams[:2], strict=True):
        geom = shape(f["geometry"])
        assert isinstance(geom, LineString)
        coords = list(geom.coords)
        assert len(coords) == len(route.stops) + 2
        assert coords[0] == (route.start_lon, route.start_lat)  # [lon, lat] (RFC 7946)
        assert coords[-1] == (route.end_lon, route.end_lat)
        assert f["properties"]["travel_s"] == route.travel_s
    first = points[0]
    assert isinstance(shape(first["geometry"]), Point)
    props = first["properties"]
    assert {"id", "lat", "lon", "arrive", "depart", "prize", "team", "order", "must"} <= set(props)
    assert props["order"] == 1 and props["team"] == "A"
    named = [p["properties"] for p in points if p["properties"]["must"]]
    assert named and all(p["name"] == "联防点 1" for p in named)
    assert gj["properties"]["dropped_must"] == ["远处岗亭"]


def test_gpx_is_gpx_1_1_and_parses_back(plan: Plan) -> None:
    text = plan_to_gpx(plan)
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{{{GPX_NS}}}gpx"
    assert root.attrib["version"] == "1.1" and root.attrib["creator"] == "gridwatch"
    children = [c.tag.removeprefix(f"{{{GPX_NS}}}") for c in root]
    order = {"metadata": 0, "wpt": 1, "rte": 2, "trk": 3, "extensions": 4}
    assert children == sorted(children, key=order.__getitem__), "elements out of schema order"

    gpx = gpxpy.parse(text)
    assert gpx.version == "1.1"
    assert [r.name for r in gpx.routes] == ["A", "B", "C"]
    for rte, route in zip(gpx.routes, plan.teams, strict=True):
        assert len(rte.points) == len(route.stops) + 2
        start, *middle, end = rte.points
        assert (start.latitude, start.longitude) == (route.start_lat, route.start_lon)
        assert (end.latitude, end.longitude) == (route.end_lat, route.end_lon)
        assert end.time == route.finish.astimezone(UTC)
        for pt, stop in zip(middle, route.stops, strict=True):
            assert (pt.latitude, pt.longitude) == (stop.lat, stop.lon)
            assert pt.time == stop.arrive.astimezone(UTC)
            assert pt.name and (stop.name or str(stop.id)) in pt.name
    assert len(gpx.waypoints) == sum(len(r.stops) for r in plan.teams)
    assert {w.type for w in gpx.waypoints} == {"hotspot", "must-visit"}
    # a parse → write → parse round trip keeps every point and time
    again = gpxpy.parse(gpx.to_xml(version="1.1"))
    assert [(p.latitude, p.longitude, p.time, p.name) for r in again.routes for p in r.points] == [
        (p.latitude, p.longitude, p.time, p.name) for r in gpx.routes for p in r.points
    ]
    # times are written in UTC ("Z"), as GPX requires
    times = [e.text for e in root.iter(f"{{{GPX_NS}}}time")]
    assert times and all(t is not None and t.endswith("Z") for t in times)
