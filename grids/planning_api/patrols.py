"""Patrol route plans for planners, by the service's own planner.

The same steps as ``POST /api/v1/patrols/plans`` and ``gridwatch patrol plan``: the
selection's Gi* hot cells at 95 % or more (:func:`grids.patrols.planning.hot_cells`) are
the candidate stops with their z as prize, the unit's must-visit points are required,
and :func:`geo.patrol.plan.plan_routes` solves the orienteering problem. A selection
may keep only some hours of the day, so a night shift is planned on night reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.orm import Session

from geo.h3cells import cells_to_polygons
from geo.maps.geojson import parse_cells
from geo.patrol.plan import Plan, Team, plan_routes
from grids.analytics.selection import Selection
from grids.city.locator import GridLocator
from grids.patrols.planning import candidates_from, hot_cells, must_visit_points
from grids.planning_api.frames import CRS

STOP_COLUMNS = ["team", "order", "id", "name", "kind", "arrive", "depart", "prize"]


@dataclass(frozen=True)
class PatrolPlan:
    """A plan and what it was planned on.

    ``stops``: one row per visit (``team, order, id, name, kind`` — ``"hot cell"`` or
    ``"must visit"`` — ``arrive, depart`` (aware, local) and ``prize``), points in WGS-84.
    ``hot_cells``: the candidate cells (``cell, name, count, gi_z, gi_bin, planned``)
    with their hexagons. ``plan``: the planner's own result (``geo.patrol.plan.Plan``),
    which ``geo.patrol.formats`` writes as GPX or GeoJSON for the phones.
    """

    stops: gpd.GeoDataFrame
    hot_cells: gpd.GeoDataFrame
    total_prize: float
    dropped_must: tuple[str, ...]
    warnings: tuple[str, ...]
    meta: dict[str, Any]
    plan: Plan


def plan_patrols(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    starts: Sequence[tuple[float, float]],
    shift_start: dt.datetime,
    shift_minutes: float,
    res: int,
    must_visit: bool,
    options: dict[str, Any],
) -> PatrolPlan:
    """Plan one route per start (a team each) through the selection's hot cells."""
    hot = hot_cells(session, locator, selection, res=res)
    candidates = candidates_from(hot)
    must = must_visit_points(session, locator, selection.unit) if must_visit else []
    teams = [
        Team(f"T{n}", float(lat), float(lon), shift_start, shift_minutes)
        for n, (lat, lon) in enumerate(starts, start=1)
    ]
    plan = plan_routes(candidates, must, teams, **options)
    stops = _stops_frame(plan, str(locator.tz))
    cells = hot.cells.drop(columns=["lat", "lon"]).copy()
    cells["planned"] = cells["cell"].isin(set(stops["id"]))
    polygons = list(cells_to_polygons(parse_cells(cells["cell"]))) if len(cells) else []
    hexagons = gpd.GeoDataFrame(cells, geometry=polygons, crs=CRS)
    meta = hot.meta | {"candidates": len(candidates), "must_visit": len(must)}
    return PatrolPlan(
        stops, hexagons, plan.total_prize, plan.dropped_must, plan.warnings, meta, plan
    )


def _stops_frame(plan: Plan, tz: str) -> gpd.GeoDataFrame:
    rows = [
        {
            "team": route.team,
            "order": order,
            "id": str(stop.id),
            "name": stop.name,
            "kind": "must visit" if stop.must else "hot cell",
            "arrive": pd.Timestamp(stop.arrive).tz_convert(tz),
            "depart": pd.Timestamp(stop.depart).tz_convert(tz),
            "prize": stop.prize,
            "lat": stop.lat,
            "lon": stop.lon,
        }
        for route in plan.teams
        for order, stop in enumerate(route.stops, start=1)
    ]
    frame = pd.DataFrame(rows, columns=[*STOP_COLUMNS, "lat", "lon"])
    for column in ("arrive", "depart"):  # datetimes even when no team has a stop
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
    frame["prize"] = frame["prize"].astype(float)
    return gpd.GeoDataFrame(
        frame[STOP_COLUMNS], geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=CRS
    )
