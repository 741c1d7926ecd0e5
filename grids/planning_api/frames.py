"""The store's rows as GeoDataFrames for planners: units, cases, check-ins, patrol points.

Every frame is in WGS-84 (EPSG:4326) and carries the H3 cell (resolution 12, as a string)
and the codes of the grid and town it lies in. Nothing here selects a reporter, a
contact, a submitting account, a free-text description or a team member: a planner's
frame cannot reveal who reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.h3cells import latlng_to_cells
from geo.hotspots import cells_to_strings
from grids.analytics.cases import selection_conditions
from grids.analytics.selection import Selection
from grids.cases.intake import CASE_H3_RES
from grids.cases.models import Case
from grids.city.directory import Directory, UnitInfo
from grids.city.locator import GridLocator
from grids.city.models import Category, Unit
from grids.patrols.models import CheckIn, PatrolPoint, Team

CRS = 4326
LEVELS = ("city", "town", "community", "grid")
CASE_TIMES = (
    "occurred_at",
    "reported_at",
    "acknowledged_at",
    "verified_at",
    "resolved_at",
    "closed_at",
)


def _codes(directory: Directory, ids: pd.Series) -> pd.Series:
    return ids.map(lambda i: None if pd.isna(i) else directory.units[int(i)].code)


def _towns(directory: Directory, grid_ids: pd.Series) -> pd.Series:
    def town(grid_id: float | None) -> str | None:
        if grid_id is None or pd.isna(grid_id):
            return None
        unit = directory.ancestor(int(grid_id), "town")
        return unit.code if unit else None

    return grid_ids.map(town)


def _cells(frame: pd.DataFrame) -> np.ndarray:
    if len(frame) == 0:
        return np.empty(0, dtype=object)
    cells = latlng_to_cells(
        frame["lat"].to_numpy(dtype=float), frame["lon"].to_numpy(dtype=float), CASE_H3_RES
    )
    return cells_to_strings(cells)


def _points(frame: pd.DataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        frame[list(columns)].reset_index(drop=True),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=CRS,
    )


def unit_frame(session: Session, directory: Directory, level: str) -> gpd.GeoDataFrame:
    """The units of one level with their parent's and town's codes and outlines."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.parent_id, Unit.area_m2, Unit.geom)
        .where(Unit.level == level)
        .order_by(Unit.code)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["id", "code", "name", "name_en", "parent_id", "area_m2", "geometry"]
    )
    frame["level"] = level
    frame["parent"] = _codes(directory, frame["parent_id"])
    frame["town"] = (frame["code"] if level == "town" else _towns(directory, frame["id"])).astype(
        object
    )
    columns = ["code", "name", "name_en", "level", "parent", "town", "area_m2", "geometry"]
    return gpd.GeoDataFrame(frame[columns], geometry="geometry", crs=CRS)


def case_frame(
    session: Session,
    directory: Directory,
    selection: Selection,
    statuses: Sequence[str] | None,
) -> gpd.GeoDataFrame:
    """The cases of a selection (every state unless ``statuses`` names some)."""
    unit = selection.check(directory)
    conditions = selection_conditions(selection, unit)
    if statuses:
        conditions.append(Case.status.in_(list(statuses)))
    columns = [
        Case.id,
        Case.status,
        Category.code.label("category"),
        Case.source,
        Case.lat,
        Case.lon,
        Case.h3_cell,
        Case.match,
        Case.grid_id,
        Case.community_id,
        Case.town_id,
        Case.officer_id,
        Case.escalation_level,
        Case.missed,
        Case.reject_reason,
        Case.duplicate_of_id,
        *(getattr(Case, name) for name in CASE_TIMES),
    ]
    query = select(*columns).join(Category, Category.id == Case.category_id)
    rows = session.execute(query.where(*conditions).order_by(Case.reported_at, Case.id)).all()
    frame = pd.DataFrame(rows, columns=[c.key for c in columns])
    for name in CASE_TIMES:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["h3_cell"] = cells_to_strings(frame["h3_cell"].to_numpy(dtype=np.int64).astype(np.uint64))
    for level in ("grid", "community", "town"):
        frame[level] = _codes(directory, frame[f"{level}_id"])
    people = directory.people
    frame["officer"] = frame["officer_id"].map(
        lambda i: None if pd.isna(i) else people[int(i)].code
    )
    frame = frame.rename(columns={"duplicate_of_id": "duplicate_of"})
    kept = [c for c in frame.columns if c not in ("lat", "lon") and not c.endswith("_id")]
    return _points(frame, ["id", *(c for c in kept if c != "id")])


def checkin_frame(session: Session, locator: GridLocator, selection: Selection) -> gpd.GeoDataFrame:
    """Patrol check-ins in a window (by when they were made), with the team, the patrol
    point (if any) and the grid and town the position lies in; not who made them."""
    unit = selection.check(locator.directory)
    query = (
        select(CheckIn.at, CheckIn.lat, CheckIn.lon, Team.code, PatrolPoint.code)
        .join(Team, Team.id == CheckIn.team_id)
        .outerjoin(PatrolPoint, PatrolPoint.id == CheckIn.point_id)
    )
    if selection.since is not None:
        query = query.where(CheckIn.at >= selection.since)
    if selection.until is not None:
        query = query.where(CheckIn.at < selection.until)
    rows = session.execute(query.order_by(CheckIn.at, CheckIn.id)).all()
    frame = pd.DataFrame(rows, columns=["at", "lat", "lon", "team", "point"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame = _with_grid(frame, locator)
    frame = _in_unit(frame, locator.directory, unit)
    return _points(frame, ["at", "team", "point", "h3_cell", "grid", "town"])


def patrol_point_frame(
    session: Session, locator: GridLocator, selection: Selection
) -> gpd.GeoDataFrame:
    """The patrol points (of the selection's unit), with their grid and town codes."""
    unit = selection.check(locator.directory)
    rows = session.execute(
        select(
            PatrolPoint.code,
            PatrolPoint.name,
            PatrolPoint.kind,
            PatrolPoint.must_visit,
            PatrolPoint.lat,
            PatrolPoint.lon,
            PatrolPoint.grid_id,
        ).order_by(PatrolPoint.code)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["code", "name", "kind", "must_visit", "lat", "lon", "grid_id"]
    )
    frame["h3_cell"] = _cells(frame)
    frame["grid"] = _codes(locator.directory, frame["grid_id"])
    frame["town"] = _towns(locator.directory, frame["grid_id"])
    frame = _in_unit(frame, locator.directory, unit)
    return _points(frame, ["code", "name", "kind", "must_visit", "h3_cell", "grid", "town"])


def _with_grid(frame: pd.DataFrame, locator: GridLocator) -> pd.DataFrame:
    """The grid each position lies in (as intake locates reports), its town and H3 cell."""
    frame["h3_cell"] = _cells(frame)
    if len(frame) == 0:
        frame["grid_id"] = pd.Series(dtype=object)
    else:
        located = locator.locate_many(
            frame["lat"].to_numpy(dtype=float), frame["lon"].to_numpy(dtype=float)
        )
        ids = np.asarray(locator.unit_ids)[np.maximum(located.index, 0)]
        frame["grid_id"] = pd.Series(np.where(located.index >= 0, ids, None), dtype=object)
    frame["grid"] = _codes(locator.directory, frame["grid_id"])
    frame["town"] = _towns(locator.directory, frame["grid_id"])
    return frame


def _in_unit(frame: pd.DataFrame, directory: Directory, unit: UnitInfo | None) -> pd.DataFrame:
    if unit is None:
        return frame
    grids = directory.grids_under(unit.id)
    return frame[frame["grid_id"].isin(list(grids))]
