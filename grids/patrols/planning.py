"""Planning patrols from the store: hot-spot cells as candidate stops, must-visit
points, coverage gaps (hot cells and must-visit points nobody checked in at lately)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import h3cells
from geo.patrol.plan import Candidate, MustVisit
from grids.analytics.hotspots import Analysis, Selection, TooLittleData, hotspots, resolve_unit
from grids.city.locator import GridLocator
from grids.db import utcnow
from grids.patrols.models import CheckIn, PatrolPoint
from grids.patrols.service import last_visits

MAX_CANDIDATES = 200  # the solver's time grows fast beyond this
HOTSPOT_TABLE_COLUMNS = ("cell", "count", "gi_z", "gi_p", "gi_p_fdr", "gi_bin", "class")


@dataclass(frozen=True)
class HotCells:
    """Significant hot cells (Gi* bin >= ``min_bin``) and the whole Gi* table."""

    cells: pd.DataFrame  # cell (hex), name, lat, lon, gi_z, gi_bin, count
    table: pd.DataFrame
    meta: dict[str, Any]


def hot_cells(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    res: int = 9,
    k: int = 1,
    min_bin: int = 2,
) -> HotCells:
    """Hot spots at 95 % (``min_bin=2``) or more, strongest first, with their centres and a
    name a patrol reads on its phone: the grid of the centre (``热点 第1网格 (DG20-C07-G01)``).

    Below the minimum of Gi* (too few cells with reports) there are no hot cells, and the
    meta says why (``hotspots_refused``): a plan then visits the must-visit points only."""
    try:
        analysis = hotspots(session, locator, selection, res=res, k=k)
    except TooLittleData as refused:
        empty = pd.DataFrame({c: [] for c in HOTSPOT_TABLE_COLUMNS})
        analysis = Analysis(empty, {"hotspots_refused": str(refused), "res": res, "k": k})
    table = analysis.table
    hot = table[table["gi_bin"] >= min_bin].sort_values("gi_z", ascending=False)
    centres = [h3.cell_to_latlng(c) for c in hot["cell"]]
    lat = np.array([c[0] for c in centres], dtype=np.float64)
    lon = np.array([c[1] for c in centres], dtype=np.float64)
    cells = pd.DataFrame(
        {
            "cell": hot["cell"].to_numpy(),
            "name": _hot_cell_names(locator, hot["cell"].to_numpy(), lat, lon),
            "lat": lat,
            "lon": lon,
            "gi_z": hot["gi_z"].to_numpy(),
            "gi_bin": hot["gi_bin"].to_numpy(),
            "count": hot["count"].to_numpy(),
        }
    )
    return HotCells(cells, table, analysis.meta)


def _hot_cell_names(
    locator: GridLocator, cells: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> list[str]:
    if len(cells) == 0:
        return []
    located = locator.locate_many(lat, lon)
    names = []
    for cell, index in zip(cells, located.index, strict=True):
        if index < 0:
            names.append(f"热点 {cell}")
            continue
        grid = locator.directory.units[int(locator.unit_ids[index])]
        names.append(f"热点 {grid.name} ({grid.code})")
    return names


def candidates_from(hot: HotCells, limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The strongest hot cells as stops, named by their grid; the prize is the Gi* z-score."""
    rows = hot.cells.head(limit)
    return [
        Candidate(id=str(cell), lat=float(lat), lon=float(lon), prize=round(float(z), 3), name=name)
        for cell, name, lat, lon, z in zip(
            rows["cell"],
            rows["name"],
            rows["lat"].to_numpy(),
            rows["lon"].to_numpy(),
            rows["gi_z"].to_numpy(),
            strict=True,
        )
    ]


def must_visit_points(
    session: Session, locator: GridLocator, unit_code: str | None
) -> list[MustVisit]:
    """The must-visit patrol points of a town (or of the city)."""
    unit = resolve_unit(locator.directory, unit_code)
    query = select(PatrolPoint).where(PatrolPoint.must_visit.is_(True)).order_by(PatrolPoint.code)
    if unit is not None:
        query = query.where(PatrolPoint.town_id == unit.id)
    return [MustVisit(p.code, p.name, p.lat, p.lon) for p in session.scalars(query)]


def coverage_gaps(
    session: Session,
    locator: GridLocator,
    hot: HotCells,
    *,
    hours: float,
    unit_code: str | None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Hot cells and must-visit points with no check-in in the last ``hours``, worst first:
    the hottest cells first, then the points unvisited the longest (never visited first)."""
    now = now or utcnow()
    since = now - dt.timedelta(hours=hours)
    res = h3.get_resolution(hot.cells["cell"].iloc[0]) if len(hot.cells) else 9
    visited_rows = (
        session.execute(select(CheckIn.h3_cell).where(CheckIn.at >= since)).scalars().all()
    )
    visited = (
        {
            format(int(c), "x")
            for c in h3cells.cells_to_parents(np.array(visited_rows, dtype=np.uint64), res)
        }
        if visited_rows
        else set()
    )
    cells = hot.cells[~hot.cells["cell"].isin(visited)]
    last = last_visits(session)
    points = []
    unit = resolve_unit(locator.directory, unit_code)
    query = select(PatrolPoint).where(PatrolPoint.must_visit.is_(True))
    if unit is not None:
        query = query.where(PatrolPoint.town_id == unit.id)
    for point in session.scalars(query):
        seen = last.get(point.id)
        if seen is None or seen < since:
            points.append(
                {
                    "code": point.code,
                    "name": point.name,
                    "kind": point.kind,
                    "lat": point.lat,
                    "lon": point.lon,
                    "last_visit": seen.isoformat() if seen else None,
                }
            )
    points.sort(key=lambda p: (p["last_visit"] is not None, p["last_visit"] or ""))
    return {
        "hours": hours,
        "since": since.isoformat(),
        "cells": [
            {
                "cell": r["cell"],
                "lat": r["lat"],
                "lon": r["lon"],
                "gi_z": round(float(r["gi_z"]), 3),
                "count": int(r["count"]),
            }
            for r in cells.to_dict("records")
        ],
        "points": points,
        "analysis": hot.meta,
    }
