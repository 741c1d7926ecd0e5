"""A year of patrol check-ins for the sample city's teams (attendance and coverage).

Every team patrols its town on most days, at its own hour: a shift of four
stops at the town's patrol points (must-visit points first), twelve minutes a
stop and ten minutes on the way, and each member present checks in at every
stop near the point. Check-ins are stored like uploaded ones: their H3 cell at
the check-in resolution and the patrol point they visited (the same rules as
:func:`grids.patrols.service.record_checkins`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, select

from geo import h3cells
from grids.bulk import indexes_dropped, insert_rows
from grids.patrols.models import CheckIn, PatrolPoint, Team, TeamMember
from grids.patrols.service import CHECKIN_H3_RES, nearest_points

STOPS = 4
STOP_MIN, WALK_MIN = 12, 10
SHIFT_HOUR = {1: 19.0, 2: 8.5}  # 义警队 in the evening, the community patrol in the morning
PRESENT = 0.85
COLUMNS = ["team_id", "member_id", "at", "lat", "lon", "h3_cell", "point_id", "received_at"]


def write_checkins(
    conn: Connection, *, as_of: dt.datetime, scale: float, timezone: str, seed: int
) -> int:
    """The check-ins of the year before ``as_of`` (fewer shifts for small test cities)."""
    rng = np.random.default_rng([seed, 3])
    tz = ZoneInfo(timezone)
    points = conn.execute(
        select(PatrolPoint.id, PatrolPoint.lat, PatrolPoint.lon, PatrolPoint.town_id).order_by(
            PatrolPoint.must_visit.desc(), PatrolPoint.id
        )
    ).all()
    teams = conn.execute(select(Team.id, Team.code, Team.town_id).order_by(Team.id)).all()
    members = conn.execute(select(TeamMember.id, TeamMember.team_id)).all()
    by_team: dict[int, list[int]] = {}
    for member_id, team_id in members:
        by_team.setdefault(team_id, []).append(member_id)
    share = 5 / 7 * min(1.0, scale)
    last_day = as_of.astimezone(tz).date()
    rows: list[tuple] = []
    for team_id, code, town_id in teams:
        mine = [p for p in points if p.town_id == town_id]
        crew = by_team.get(team_id, [])
        if not mine or not crew:
            continue
        hour = SHIFT_HOUR.get(int(code[-1]) if code[-1].isdigit() else 1, 19.0)
        for back in np.flatnonzero(rng.random(365) < share):
            day = last_day - dt.timedelta(days=int(back))
            start = dt.datetime.combine(day, dt.time(), tz) + dt.timedelta(
                hours=hour, minutes=float(rng.normal(0, 10))
            )
            picks = rng.permutation(len(mine))[: STOPS - 1]
            stops = [mine[0], *(mine[int(k)] for k in picks if k != 0)]
            for s, point in enumerate(stops[:STOPS]):
                at = start + dt.timedelta(minutes=s * (STOP_MIN + WALK_MIN))
                for member in crew:
                    if rng.random() > PRESENT:
                        continue
                    when = at + dt.timedelta(seconds=int(rng.integers(0, 300)))
                    if when > as_of:
                        continue
                    north, east = rng.normal(0, 8, 2)
                    lat = float(point.lat) + north / 110_574.0
                    lon = float(point.lon) + east / (111_320.0 * np.cos(np.radians(point.lat)))
                    received = min(as_of, when + dt.timedelta(minutes=int(rng.integers(1, 90))))
                    rows.append((team_id, member, when.astimezone(dt.UTC), lat, lon, received))
    if not rows:
        return 0
    lat = np.array([r[3] for r in rows])
    lon = np.array([r[4] for r in rows])
    cells = h3cells.latlng_to_cells(lat, lon, CHECKIN_H3_RES)
    visited: list[int | None] = []
    for k in range(0, len(rows), 20_000):
        visited += nearest_points(points, lat[k : k + 20_000], lon[k : k + 20_000])
    full = (
        (*r[:5], int(cells[k]), visited[k], r[5].astimezone(dt.UTC)) for k, r in enumerate(rows)
    )
    with indexes_dropped(conn, [CheckIn.__table__]):  # type: ignore[list-item]
        return insert_rows(conn, CheckIn.__table__, COLUMNS, full)  # type: ignore[arg-type]
