"""Patrols: patrol points, teams, check-ins, attendance (考勤) and coverage.

Check-ins come from members' phones, often in batches after being offline:
a batch is ordered by the phones' own timestamps and a check-in already
stored (same member, same instant) is skipped, so uploading a batch twice
counts it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo import h3cells
from geo.crs import validate_coordinates
from geo.distance import haversine_m
from geo.polygons import read_polygon_file
from grids.accounts.scope import Scope
from grids.city.hierarchy import unit_by_code
from grids.city.locator import GridLocator
from grids.db import utcnow
from grids.errors import ImportRefused, InvalidInput, NotFound
from grids.patrols.models import POINT_KINDS, CheckIn, PatrolPoint, Team, TeamMember
from grids.patrols.scope import (
    check_point_placed,
    check_team_placed,
    scoped_checkins,
    visible_point,
    visible_team,
)

CHECKIN_H3_RES = 12
VISIT_RADIUS_M = 50.0  # a check-in this close to a patrol point is a visit
SHIFT_GAP = dt.timedelta(minutes=30)  # a longer pause starts a new shift


# ---------------------------------------------------------------- patrol points
def save_point(
    session: Session,
    locator: GridLocator,
    *,
    code: str,
    name: str,
    kind: str,
    lat: float,
    lon: float,
    must_visit: bool = False,
    scope: Scope | None = None,
) -> PatrolPoint:
    """Create or update a patrol point; its grid and town come from the cell map. With a
    ``scope`` (a user's), the point must be theirs to see and land in it (``scope.py``)."""
    if kind not in POINT_KINDS:
        raise InvalidInput(f"kind must be one of {list(POINT_KINDS)}, got {kind!r}")
    validate_coordinates([lat], [lon])
    index, _match, _distance = locator.cellmap.locate_one(lat, lon)
    grid = locator.directory.units[int(locator.unit_ids[index])] if index >= 0 else None
    town = locator.directory.ancestor(grid.id, "town") if grid else None
    point = visible_point(session, scope, code) or PatrolPoint(code=code)
    point.name, point.kind, point.must_visit = name, kind, must_visit
    point.lat, point.lon, point.geom = lat, lon, shapely.Point(lon, lat)
    point.grid_id = grid.id if grid else None
    point.town_id = town.id if town else None
    check_point_placed(scope, point)
    session.add(point)
    session.flush()
    return point


def import_points(
    session: Session,
    locator: GridLocator,
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str = "wgs84",
    code_field: str = "code",
    name_field: str = "name",
    kind_field: str = "kind",
    must_field: str = "must_visit",
) -> int:
    """Import patrol points from any file GDAL reads; all or nothing."""
    frame = read_polygon_file(path, layer=layer, crs=crs, features="points")
    missing = [f for f in (code_field, name_field, kind_field) if f not in frame.columns]
    if missing:
        raise ImportRefused(f"{path}: no attributes {missing}; the file has {list(frame.columns)}")
    kinds = np.asarray(shapely.get_type_id(frame.geometry.values))
    if (kinds != 0).any():
        rows = (np.flatnonzero(kinds != 0) + 1).tolist()[:5]
        raise ImportRefused(f"{path}: features {rows} are not points; patrol points are points")
    for row in frame.itertuples(index=False):
        geom = getattr(row, frame.geometry.name)
        save_point(
            session,
            locator,
            code=str(getattr(row, code_field)),
            name=str(getattr(row, name_field)),
            kind=str(getattr(row, kind_field)),
            lat=float(geom.y),
            lon=float(geom.x),
            must_visit=bool(getattr(row, must_field, False)),
        )
    return len(frame)


# ------------------------------------------------------------------------ teams
def save_team(
    session: Session, code: str, name: str, town_code: str | None, scope: Scope | None = None
) -> Team:
    """Create or update a team; with a ``scope``, it must be theirs and stay in their towns."""
    town = unit_by_code(session, town_code) if town_code else None
    if town is not None and town.level not in ("town", "city"):
        raise InvalidInput(f"{town_code} is a {town.level}; a team belongs to a town")
    team = visible_team(session, scope, code) or Team(code=code)
    team.name, team.town_id = name, town.id if town else None
    check_team_placed(scope, team)
    session.add(team)
    session.flush()
    return team


def save_member(session: Session, team: Team, code: str, name: str) -> TeamMember:
    member = session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.code == code)
    ) or TeamMember(team_id=team.id, code=code)
    member.name = name
    session.add(member)
    session.flush()
    return member


def team_by_code(session: Session, code: str, scope: Scope | None = None) -> Team:
    """The team with this code, if the scope sees it (404 otherwise)."""
    team = visible_team(session, scope, code)
    if team is None:
        raise NotFound(f"no team {code!r}")
    return team


# --------------------------------------------------------------------- check-ins
@dataclass(frozen=True)
class CheckInIn:
    member: str
    at: dt.datetime
    lat: float
    lon: float


def record_checkins(
    session: Session, team: Team, items: list[CheckInIn], *, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Store a batch of check-ins in the order they happened; returns (stored, duplicates)."""
    now = now or utcnow()
    if not items:
        raise InvalidInput("no check-ins in the batch")
    members = {
        m.code: m for m in session.scalars(select(TeamMember).where(TeamMember.team_id == team.id))
    }
    unknown = sorted({i.member for i in items} - set(members))
    if unknown:
        raise InvalidInput(f"not members of team {team.code}: {unknown[:5]}")
    for i, item in enumerate(items):
        if item.at.tzinfo is None:
            raise InvalidInput(f"check-in {i + 1}: 'at' needs a time zone offset, e.g. +08:00")
        if item.at > now + dt.timedelta(minutes=10):
            raise InvalidInput(f"check-in {i + 1}: 'at' {item.at.isoformat()} is in the future")
    lat, lon = validate_coordinates([i.lat for i in items], [i.lon for i in items])
    ordered = sorted(range(len(items)), key=lambda k: (items[k].at, items[k].member))
    keys = {(members[i.member].id, i.at.astimezone(dt.UTC)) for i in items}
    stored_keys = {
        (m, a)
        for m, a in session.execute(
            select(CheckIn.member_id, CheckIn.at).where(
                CheckIn.member_id.in_({m for m, _ in keys}),
                CheckIn.at.in_({a for _, a in keys}),
            )
        )
    }
    points = session.scalars(select(PatrolPoint)).all()
    cells = h3cells.latlng_to_cells(lat, lon, CHECKIN_H3_RES)
    nearest = nearest_points(points, lat, lon)
    added = duplicates = 0
    for k in ordered:
        item = items[k]
        key = (members[item.member].id, item.at.astimezone(dt.UTC))
        if key in stored_keys:
            duplicates += 1
            continue
        stored_keys.add(key)
        session.add(
            CheckIn(
                team_id=team.id,
                member_id=key[0],
                at=key[1],
                lat=float(lat[k]),
                lon=float(lon[k]),
                h3_cell=int(cells[k]),
                point_id=nearest[k],
                received_at=now,
            )
        )
        added += 1
    session.flush()
    return added, duplicates


def nearest_points(points: Any, lat: np.ndarray, lon: np.ndarray) -> list[int | None]:
    """The patrol point within the visit radius of each check-in, if any."""
    if not points:
        return [None] * len(lat)
    plat = np.array([p.lat for p in points])
    plon = np.array([p.lon for p in points])
    distance = haversine_m(lat[:, None], lon[:, None], plat[None, :], plon[None, :])
    best = distance.argmin(axis=1)
    return [points[b].id if distance[i, b] <= VISIT_RADIUS_M else None for i, b in enumerate(best)]


# -------------------------------------------------------------------- attendance
def attendance(session: Session, team: Team, day: dt.date, timezone: str) -> dict[str, Any]:
    """考勤 for one local day: per member the shifts, hours on patrol and points visited."""
    tz = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), tz)
    rows = session.execute(
        select(TeamMember.code, TeamMember.name, CheckIn.at, CheckIn.point_id)
        .join(CheckIn, CheckIn.member_id == TeamMember.id)
        .where(
            CheckIn.team_id == team.id,
            CheckIn.at >= start,
            CheckIn.at < start + dt.timedelta(days=1),
        )
        .order_by(TeamMember.code, CheckIn.at)
    ).all()
    members: dict[str, dict[str, Any]] = {}
    for code, name, at, point in rows:
        entry = members.setdefault(
            code, {"member": code, "name": name, "times": [], "points": set()}
        )
        entry["times"].append(at)
        if point is not None:
            entry["points"].add(point)
    out = []
    team_points: set[int] = set()
    team_seconds = 0.0
    for entry in members.values():
        shifts = patrol_shifts(entry["times"])
        seconds = sum((b - a).total_seconds() for a, b in shifts)
        team_seconds += seconds
        team_points |= entry["points"]
        out.append(
            {
                "member": entry["member"],
                "name": entry["name"],
                "checkins": len(entry["times"]),
                "shifts": [
                    {"start": a.astimezone(tz).isoformat(), "end": b.astimezone(tz).isoformat()}
                    for a, b in shifts
                ],
                "hours": round(seconds / 3600, 2),
                "points_visited": len(entry["points"]),
            }
        )
    return {
        "team": team.code,
        "date": day.isoformat(),
        "members": out,
        "hours": round(team_seconds / 3600, 2),
        "points_visited": len(team_points),
        "members_on_patrol": len(out),
    }


def patrol_shifts(times: list[dt.datetime]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Runs of check-ins with no pause longer than ``SHIFT_GAP``."""
    shifts: list[tuple[dt.datetime, dt.datetime]] = []
    for at in times:
        if shifts and at - shifts[-1][1] <= SHIFT_GAP:
            shifts[-1] = (shifts[-1][0], at)
        else:
            shifts.append((at, at))
    return shifts


def coverage(
    session: Session,
    *,
    res: int,
    since: dt.datetime,
    until: dt.datetime | None = None,
    scope: Scope | None = None,
) -> list[dict[str, Any]]:
    """Per H3 cell at ``res``: how many check-ins since ``since`` and when the last was
    (with a ``scope``: of the teams it sees)."""
    query = select(CheckIn.h3_cell, CheckIn.at).where(CheckIn.at >= since)
    query = scoped_checkins(query, scope)
    if until is not None:
        query = query.where(CheckIn.at < until)
    rows = session.execute(query).all()
    if not rows:
        return []
    cells = h3cells.cells_to_parents(np.array([r[0] for r in rows], dtype=np.uint64), res)
    last: dict[int, dt.datetime] = {}
    visits: dict[int, int] = {}
    for cell, (_, at) in zip(cells.tolist(), rows, strict=True):
        visits[cell] = visits.get(cell, 0) + 1
        if cell not in last or at > last[cell]:
            last[cell] = at
    return [
        {"cell": format(c, "x"), "visits": visits[c], "last_visit": last[c].isoformat()}
        for c in sorted(visits, key=lambda c: -visits[c])
    ]


def last_visits(session: Session) -> dict[int, dt.datetime]:
    """When each patrol point was last visited."""
    rows = session.execute(
        select(CheckIn.point_id, func.max(CheckIn.at))
        .where(CheckIn.point_id.is_not(None))
        .group_by(CheckIn.point_id)
    ).all()
    return {int(point): at for point, at in rows if point is not None}
