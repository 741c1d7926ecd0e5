"""What the maps draw around the hexagons: outlines with who is on duty, cases, patrol points."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.analytics.area import grid_parents
from grids.analytics.cases import selection_conditions
from grids.analytics.selection import Selection
from grids.cases.models import Case
from grids.city.directory import Directory, UnitInfo
from grids.city.dispatch import decide
from grids.city.locator import GridLocator
from grids.city.models import Category, Unit
from grids.patrols.models import PatrolPoint

DUTY_KINDS: dict[str, dict[str, str]] = {
    "zh": {
        "grid_chief": "网格长",
        "community": "社区工作站",
        "town_dispatch": "镇街调度中心",
        "city_dispatch": "市调度中心",
    },
    "en": {
        "grid_chief": "grid chief",
        "community": "community workstation",
        "town_dispatch": "town dispatch centre",
        "city_dispatch": "city dispatch centre",
    },
}


def duty_label(directory: Directory, grid_id: int, local: dt.datetime, lang: str = "zh") -> str:
    """Who takes a report from this grid now: the officer on duty, or the fallback."""
    decision = decide(directory, grid_id, "inside", None, local, None)
    if decision.assignee_kind == "officer" and decision.officer is not None:
        return f"{decision.officer.name} ({decision.officer.code})"
    kind = DUTY_KINDS[lang].get(decision.assignee_kind, decision.assignee_kind)
    if decision.officer is not None:
        return f"{kind} {decision.officer.name} ({decision.officer.code})"
    unit = decision.assignee_unit
    return f"{kind} {unit.name}" if unit is not None else kind


def _town_duty(directory: Directory, town_id: int, local: dt.datetime) -> str:
    """The town's dispatchers on duty now (by their roster), or every dispatcher of the town."""
    on_duty = [
        directory.people[shift.person_id]
        for shift in directory.shifts.get(town_id, [])
        if shift.started_at(local) is not None
    ]
    people = on_duty or directory.people_with_role(town_id, "dispatcher")
    return "、".join(f"{p.name} ({p.code})" for p in people)


def grid_outlines(
    locator: GridLocator, unit: UnitInfo | None, *, at: dt.datetime | None = None, lang: str = "zh"
) -> gpd.GeoDataFrame:
    """The unit's grids (code, name, duty, geometry in WGS-84) with who is on duty at ``at``."""
    mask = grid_parents(locator).mask(unit)
    local = locator.local_time(at)
    ids = np.asarray(locator.unit_ids)[mask]
    directory = locator.directory
    return gpd.GeoDataFrame(
        {
            "code": [directory.units[int(i)].code for i in ids],
            "name": [directory.units[int(i)].name for i in ids],
            "duty": [duty_label(directory, int(i), local, lang) for i in ids],
        },
        geometry=np.asarray(locator.cellmap.polygons, dtype=object)[mask],
        crs=4326,
    )


def town_outlines(
    session: Session, locator: GridLocator, unit: UnitInfo | None, *, at: dt.datetime | None = None
) -> gpd.GeoDataFrame:
    """The towns of the unit (all for the city; the enclosing town otherwise), with the
    town's dispatchers on duty."""
    directory = locator.directory
    query = select(Unit.id, Unit.code, Unit.name, Unit.geom).where(Unit.level == "town")
    if unit is not None:
        town = directory.ancestor(unit.id, "town")
        query = query.where(Unit.id == (town.id if town else -1))
    rows = [r for r in session.execute(query.order_by(Unit.code)) if r.geom is not None]
    local = locator.local_time(at)
    return gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "duty": [_town_duty(directory, r.id, local) for r in rows],
        },
        geometry=[r.geom for r in rows],
        crs=4326,
    )


def case_markers(
    session: Session, locator: GridLocator, selection: Selection, *, limit: int = 5000
) -> pd.DataFrame:
    """The most recent cases of the selection (every state) for the map's markers:
    id, lat, lon, status, category, reported (local time)."""
    unit = selection.check(locator.directory)
    rows = session.execute(
        select(Case.id, Case.lat, Case.lon, Case.status, Category.name, Case.reported_at)
        .join(Category, Category.id == Case.category_id)
        .where(*selection_conditions(selection, unit))
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(
        [
            (
                r.id,
                r.lat,
                r.lon,
                r.status,
                r.name,
                f"{locator.local_time(r.reported_at):%Y-%m-%d %H:%M}",
            )
            for r in rows
        ],
        columns=["id", "lat", "lon", "status", "category", "reported"],
    )


def patrol_points(
    session: Session, locator: GridLocator, unit: UnitInfo | None
) -> gpd.GeoDataFrame:
    """The store's patrol points in the unit's grids (code, name, kind, geometry)."""
    query = select(
        PatrolPoint.code,
        PatrolPoint.name,
        PatrolPoint.kind,
        PatrolPoint.lat,
        PatrolPoint.lon,
        PatrolPoint.grid_id,
    )
    rows = session.execute(query.order_by(PatrolPoint.code)).all()
    frame = pd.DataFrame(rows, columns=["code", "name", "kind", "lat", "lon", "grid_id"])
    if unit is not None:
        parents = grid_parents(locator)
        frame = frame[frame["grid_id"].isin(parents.grid[parents.mask(unit)])]
    return gpd.GeoDataFrame(
        frame[["code", "name", "kind"]],
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )
