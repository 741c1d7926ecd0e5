"""A store at size: millions of synthetic cases and their audit rows, written by the server.

The sample city's history is written through the domain's rules, which is right for a
year of a small city and far too slow for ten million cases. This module fills the
``cases`` and ``case_events`` tables of a store that already holds a city (units, people,
categories) with ``INSERT … SELECT generate_series`` on PostgreSQL: rows shaped like the
loop's own (statuses by age, deadlines from the category, an event per step, a few
escalations), spread evenly over ``years`` before ``end``. It exists for the query-plan
test and the size benchmark; it bypasses the loop's rules and must never touch a real
store (it refuses one that holds cases already).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from geo import h3cells
from grids.bulk import fix_sequence, indexes_dropped
from grids.cases.models import OPEN_STATUSES, Case, CaseEvent
from grids.cases.rules import CASE_H3_RES
from grids.errors import InvalidInput

#: Report spots per grid: cases cluster on them (as reports do), each with its own H3 cell.
SPOTS_PER_GRID = 48
#: Cases younger than this are still moving through the loop; older ones are mostly done.
RECENT_DAYS = 14
CHUNK = 1_000_000


@dataclass(frozen=True)
class SizeCounts:
    cases: int
    events: int
    open_cases: int


def _spots(conn: Connection, seed: int) -> int:
    """A temporary table of report spots (grid, its community and town, officer, position,
    H3 cell); returns how many."""
    grids = conn.execute(
        text(
            "SELECT g.id, c.id, c.parent_id, g.min_lat, g.max_lat, g.min_lon, g.max_lon, "
            "(SELECT min(a.person_id) FROM assignments a WHERE a.unit_id = g.id) "
            "FROM units g JOIN units c ON c.id = g.parent_id "
            "WHERE g.level = 'grid' AND g.min_lat IS NOT NULL ORDER BY g.id"
        )
    ).all()
    if not grids:
        raise InvalidInput("the store holds no grids; load a city first")
    rng = np.random.default_rng(seed)
    rows = []
    for grid_id, community_id, town_id, lat0, lat1, lon0, lon1, officer in grids:
        lat = rng.uniform(lat0 + 0.25 * (lat1 - lat0), lat1 - 0.25 * (lat1 - lat0), SPOTS_PER_GRID)
        lon = rng.uniform(lon0 + 0.25 * (lon1 - lon0), lon1 - 0.25 * (lon1 - lon0), SPOTS_PER_GRID)
        cells = h3cells.latlng_to_cells(lat, lon, CASE_H3_RES).astype(np.int64)
        rows += [
            (grid_id, community_id, town_id, officer, float(a), float(o), int(c))
            for a, o, c in zip(lat, lon, cells, strict=True)
        ]
    conn.exec_driver_sql(
        "CREATE TEMP TABLE size_spots (k serial, grid_id int, community_id int, town_id int, "
        "officer_id int, lat float8, lon float8, h3 bigint) ON COMMIT DROP"
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE size_cats ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS k,"
        " id, department_id, ack_minutes, verify_minutes, close_minutes FROM categories"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    columns = "grid_id, community_id, town_id, officer_id, lat, lon, h3"
    with cursor, cursor.copy(f"COPY size_spots ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


_CASES = """
WITH d AS (
    SELECT i,
           :start + ((i - 1) + random()) * :step * interval '1 second' AS reported_at,
           1 + floor(random() * :spots)::int AS spot,
           1 + floor(random() * :cats)::int AS cat,
           random() AS r, random() AS dlat, random() AS dlon, random() AS late
    FROM generate_series(:first, :last) AS i
), s AS (
    SELECT d.*, c.id AS category_id, c.department_id,
           p.grid_id, p.community_id, p.town_id, p.officer_id, p.h3,
           p.lat + (d.dlat - 0.5) * 0.0002 AS lat, p.lon + (d.dlon - 0.5) * 0.0002 AS lon,
           d.reported_at + c.ack_minutes * interval '1 minute' AS ack_due,
           d.reported_at + c.verify_minutes * interval '1 minute' AS verify_due,
           d.reported_at + c.close_minutes * interval '1 minute' AS close_due,
           CASE WHEN d.reported_at > :end - interval '%(recent)s days' THEN
                CASE WHEN d.r < 0.15 THEN 'routed' WHEN d.r < 0.30 THEN 'acknowledged'
                     WHEN d.r < 0.45 THEN 'verified' WHEN d.r < 0.60 THEN 'in_progress'
                     WHEN d.r < 0.70 THEN 'resolved' WHEN d.r < 0.92 THEN 'closed'
                     ELSE 'rejected' END
           ELSE CASE WHEN d.r < 0.002 THEN 'in_progress' WHEN d.r < 0.01 THEN 'resolved'
                     WHEN d.r < 0.92 THEN 'closed' ELSE 'rejected' END
           END AS status
    FROM d JOIN size_spots p ON p.k = d.spot JOIN size_cats c ON c.k = d.cat
), t AS (
    SELECT s.*,
           CASE WHEN status <> 'routed'
                THEN reported_at + (ack_due - reported_at) * (0.2 + late) END AS acknowledged_at,
           CASE WHEN status IN ('verified', 'in_progress', 'resolved', 'closed')
                THEN reported_at + (verify_due - reported_at) * (0.3 + late) END AS verified_at,
           CASE WHEN status IN ('resolved', 'closed')
                THEN reported_at + (close_due - reported_at) * (0.4 + late) END AS resolved_at
    FROM s
)
INSERT INTO cases (
    id, status, version, category_id, department_id, description, source, lat, lon, geom,
    h3_cell, match, grid_id, community_id, town_id, assignee_kind, assignee_unit_id,
    officer_id, escalation_level, routing, contact, occurred_at, reported_at, updated_at,
    ack_due, verify_due, close_due, next_due, acknowledged_at, verified_at, resolved_at,
    closed_at, missed, reject_reason, attributes)
SELECT i, status, 1, category_id, department_id, '', 'synthetic', lat, lon,
       ST_SetSRID(ST_MakePoint(lon, lat), 4326), h3, 'inside', grid_id, community_id, town_id,
       'grid', grid_id, officer_id, CASE WHEN late > 0.97 THEN 1 ELSE 0 END,
       '{}', '{}', reported_at, reported_at,
       CASE WHEN status = 'closed' THEN resolved_at + interval '3 hours'
            WHEN status = 'rejected' THEN acknowledged_at + interval '1 hour'
            ELSE coalesce(resolved_at, verified_at, acknowledged_at, reported_at) END,
       ack_due, verify_due, close_due,
       CASE status WHEN 'routed' THEN ack_due WHEN 'acknowledged' THEN verify_due
                   WHEN 'verified' THEN close_due WHEN 'in_progress' THEN close_due END,
       acknowledged_at, verified_at, resolved_at,
       CASE WHEN status = 'closed' THEN resolved_at + interval '3 hours' END,
       CASE WHEN late > 0.97 THEN 'acknowledge' ELSE '' END,
       CASE WHEN status = 'rejected'
            THEN CASE WHEN r > 0.97 THEN 'duplicate' ELSE 'invalid' END END,
       '{}'
FROM t
"""

_EVENTS = """
INSERT INTO case_events (case_id, at, action, actor_role, from_status, to_status, note,
                         public_note, lat, lon, data)
SELECT c.id, e.at, e.action, e.role, e.from_status, e.to_status, '', e.public_note,
       c.lat, c.lon, '{}'
FROM cases c
CROSS JOIN LATERAL (VALUES
    (1, c.reported_at, 'submit', 'reporter', NULL, 'routed', '已受理'),
    (2, c.ack_due, 'escalate', 'system', 'routed', 'routed', ''),
    (3, c.acknowledged_at, 'acknowledge', 'officer', 'routed', 'acknowledged', ''),
    (4, c.verified_at, 'verify', 'officer', 'acknowledged', 'verified', '已核实'),
    (5, c.resolved_at, 'resolve', 'officer', 'in_progress', 'resolved', '已处置'),
    (6, c.closed_at, 'close', 'dispatcher', 'resolved', 'closed', '已办结'),
    (7, CASE WHEN c.status = 'rejected' THEN c.updated_at END, 'reject', 'officer',
        'acknowledged', 'rejected', '')
) AS e(step, at, action, role, from_status, to_status, public_note)
WHERE c.id BETWEEN :first AND :last AND e.at IS NOT NULL
  AND (e.step <> 2 OR c.escalation_level > 0)
"""


def fill_cases(
    conn: Connection,
    n_cases: int,
    *,
    end: dt.datetime,
    years: float = 3.0,
    seed: int = 15,
    history_share: float = 1.0,
    progress: Callable[[str, int], None] | None = None,
) -> SizeCounts:
    """Write ``n_cases`` synthetic cases reported over ``years`` before ``end`` and their
    audit rows into the empty case tables of ``conn``'s store (PostgreSQL), then ANALYZE.

    ``history_share``: the share of cases (the newest) that get their audit rows; a test
    that needs a large events table but not every case's history writes fewer."""
    if conn.dialect.name != "postgresql":
        raise InvalidInput("a store at size is built on PostgreSQL only")
    if conn.scalar(text("SELECT EXISTS (SELECT 1 FROM cases)")):
        raise InvalidInput("the store holds cases already; a store at size starts empty")
    if end.tzinfo is None:
        raise InvalidInput("end must be an aware datetime")
    span_s = years * 365.25 * 86400.0
    start = end - dt.timedelta(seconds=span_s)
    conn.scalar(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000.0})
    spots = _spots(conn, seed)
    cats = int(conn.scalar(text("SELECT count(*) FROM size_cats")) or 0)
    with indexes_dropped(conn, [Case.__table__, CaseEvent.__table__]):  # type: ignore[list-item]
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
        for first in range(1, n_cases + 1, CHUNK):
            last = min(first + CHUNK - 1, n_cases)
            params = {"first": first, "last": last, "start": start, "end": end}
            conn.execute(
                text(_CASES % {"recent": RECENT_DAYS}),
                {**params, "step": span_s / n_cases, "spots": spots, "cats": cats},
            )
            history_from = max(first, n_cases - int(n_cases * history_share) + 1)
            if history_from <= last:
                conn.execute(text(_EVENTS), {"first": history_from, "last": last})
            if progress:
                progress("rows", last)
        if progress:
            progress("indexes", n_cases)
    fix_sequence(conn, Case.__table__)  # type: ignore[arg-type]
    fix_sequence(conn, CaseEvent.__table__)  # type: ignore[arg-type]
    conn.exec_driver_sql("ANALYZE cases")
    conn.exec_driver_sql("ANALYZE case_events")
    events = int(conn.scalar(text("SELECT count(*) FROM case_events")) or 0)
    listed = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    open_cases = int(
        conn.scalar(text(f"SELECT count(*) FROM cases WHERE status IN ({listed})")) or 0
    )
    return SizeCounts(n_cases, events, open_cases)
