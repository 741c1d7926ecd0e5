"""Reading cases: the dispatch queue, one case in scope or of one's own, open cases nearby
(duplicates)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from geo.distance import degree_box, haversine_m
from grids.accounts.reporters import OwnReports
from grids.accounts.scope import Scope
from grids.cases.models import OPEN_STATUSES, STATUSES, Case
from grids.city.models import Category, Person, Unit
from grids.db import utcnow
from grids.errors import InvalidInput, NotFound


def nearby_open_cases(
    session: Session,
    window_days: float,
    lat: float,
    lon: float,
    category: str | Category,
    *,
    now: dt.datetime | None = None,
    limit: int = 20,
    scope: Scope | None = None,
) -> list[tuple[Case, float]]:
    """Open cases of the same category within its duplicate radius and window, nearest first.

    ``category`` is a code, or its row when the caller has it. The box is searched by
    columns, and only the nearest ``limit`` cases are loaded: at a hot spot the box holds
    many open cases, and intake asks this for every report.
    """
    now = now or utcnow()
    cat = (
        category
        if isinstance(category, Category)
        else session.scalar(select(Category).where(Category.code == category))
    )
    if cat is None:
        raise InvalidInput(f"unknown category {category!r}")
    radius = cat.duplicate_radius_m
    dlat, dlon = degree_box(lat, radius)
    since = now - dt.timedelta(days=window_days)
    rows = session.execute(
        select(
            Case.id,
            Case.lat,
            Case.lon,
            Case.grid_id,
            Case.town_id,
            Case.community_id,
            Case.officer_id,
        ).where(
            Case.category_id == cat.id,
            Case.status.in_(OPEN_STATUSES),
            Case.reported_at >= since,
            Case.lat.between(lat - dlat, lat + dlat),
            Case.lon.between(lon - dlon, lon + dlon),
        )
    ).all()
    distances = haversine_m(lat, lon, [r.lat for r in rows], [r.lon for r in rows])
    near = sorted(
        (float(distance), row.id)
        for row, distance in zip(rows, distances, strict=True)
        if distance <= radius
        and (
            scope is None
            or scope.covers(row.grid_id, row.town_id, row.community_id, row.officer_id)
        )
    )[:limit]
    if not near:
        return []
    cases = {
        c.id: c for c in session.scalars(select(Case).where(Case.id.in_([i for _, i in near])))
    }
    return [(cases[case_id], distance) for distance, case_id in near]


def get_case(session: Session, case_id: int, scope: Scope | None) -> Case:
    """A case the scope may see; out of scope looks the same as missing (no probing)."""
    item = session.get(Case, case_id)
    if item is None or (
        scope is not None
        and not scope.covers(item.grid_id, item.town_id, item.community_id, item.officer_id)
    ):
        raise NotFound(f"no case {case_id}")
    return item


def visible_case(session: Session, case_id: int, scope: Scope, own: OwnReports) -> Case:
    """A case the caller may read: a reporter only their own, staff by scope."""
    if scope.role != "reporter":
        return get_case(session, case_id, scope)
    item = session.get(Case, case_id)
    if item is None or not own.owns(item.submitted_by_id, item.reporter_id):
        raise NotFound(f"no case {case_id}")
    return item


def own_conditions(own: OwnReports) -> list[Any]:
    """The SQL conditions of :meth:`OwnReports.owns`."""
    if own.submitted_by_id is not None:
        return [Case.submitted_by_id == own.submitted_by_id]
    return [Case.reporter_id == (own.reporter_id if own.reporter_id is not None else -1)]


@dataclass(frozen=True)
class QueueFilter:
    statuses: tuple[str, ...] = ()
    grid: str | None = None
    town: str | None = None
    category: str | None = None
    officer: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    overdue: bool = False


def queue(
    session: Session,
    scope: Scope,
    filters: QueueFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> tuple[list[Case], int]:
    """The dispatch queue: overdue first (earliest deadline first), then newest."""
    now = now or utcnow()
    query = select(Case).where(*_conditions(session, scope, filters, now))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    overdue = case((and_(Case.next_due.is_not(None), Case.next_due < now), 0), else_=1)
    rows = session.scalars(
        query.order_by(overdue, Case.next_due.is_(None), Case.next_due, Case.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def status_counts(
    session: Session, scope: Scope, filters: QueueFilter, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """How many cases of the queue's other filters are in each status (the console's tabs)."""
    every_status = QueueFilter(**{**filters.__dict__, "statuses": ()})
    rows = session.execute(
        select(Case.status, func.count())
        .where(*_conditions(session, scope, every_status, now or utcnow()))
        .group_by(Case.status)
    ).all()
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def _conditions(
    session: Session, scope: Scope, filters: QueueFilter, now: dt.datetime
) -> list[Any]:
    """The WHERE clauses of a queue filter in a scope; refuses unknown codes by name."""
    bad = set(filters.statuses) - set(STATUSES)
    if bad:
        raise InvalidInput(f"unknown status {sorted(bad)}; use {list(STATUSES)}")
    conditions: list[Any] = []
    if filters.statuses:
        conditions.append(Case.status.in_(filters.statuses))
    for code, column in ((filters.grid, Case.grid_id), (filters.town, Case.town_id)):
        if code is not None:
            unit = session.scalar(select(Unit).where(Unit.code == code))
            if unit is None:
                raise InvalidInput(f"unknown unit {code!r}")
            conditions.append(column == unit.id)
    if filters.category is not None:
        cat = session.scalar(select(Category).where(Category.code == filters.category))
        if cat is None:
            raise InvalidInput(f"unknown category {filters.category!r}")
        conditions.append(Case.category_id == cat.id)
    if filters.officer is not None:
        person = session.scalar(select(Person).where(Person.code == filters.officer))
        if person is None:
            raise InvalidInput(f"unknown officer {filters.officer!r}")
        conditions.append(Case.officer_id == person.id)
    if filters.since is not None:
        conditions.append(Case.reported_at >= filters.since)
    if filters.until is not None:
        conditions.append(Case.reported_at < filters.until)
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        conditions.append(
            and_(Case.lon.between(min_lon, max_lon), Case.lat.between(min_lat, max_lat))
        )
    if filters.overdue:
        conditions.append(and_(Case.next_due.is_not(None), Case.next_due < now))
    conditions.extend(scope_conditions(scope))
    return conditions


def scope_conditions(scope: Scope) -> list[Any]:
    """The SQL conditions of :meth:`Scope.covers`."""
    if scope.everywhere:
        return []
    assigned = Case.officer_id == (scope.person_id if scope.person_id is not None else -1)
    if scope.grid_ids is not None:
        return [or_(Case.grid_id.in_(scope.grid_ids or {-1}), assigned)]
    units = scope.unit_ids or {-1}
    return [or_(Case.grid_id.in_(units), Case.town_id.in_(units), Case.community_id.in_(units))]
