"""Intake of reports: routing at once, idempotent retries, photos, possible duplicates.

Every door (the JSON API, Open311, the importers, the sample city) records a
report through :func:`submit`. A case is written in one transaction with its
first audit rows, its photos' rows and its webhook deliveries, so a report is
either wholly accepted and durable or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from geo import h3cells
from geo.crs import parse_crs, to_wgs84
from grids import limits
from grids.accounts.models import User
from grids.accounts.reporters import reporter_for
from grids.accounts.users import Forbidden
from grids.cases.models import Case, CaseEvent, IdempotencyKey, Photo
from grids.cases.photos import PhotoStore
from grids.cases.queries import nearby_open_cases
from grids.cases.rules import (
    CASE_H3_RES,
    case_columns,
    check_report,
    intake_events,
)
from grids.city.locator import GridLocator
from grids.city.models import Category
from grids.community.buildings import link_case
from grids.db import transaction, utcnow
from grids.errors import InvalidInput, with_article
from grids.events import publish
from grids.exchange.webhooks import enqueue
from grids.limits import check_attributes, check_text

T = TypeVar("T")


class IdempotencyConflict(InvalidInput):
    """The same Idempotency-Key with a different request body."""


class OutsideServiceArea(InvalidInput):
    """A point too far from every grid to be a report of this city."""


@dataclass(frozen=True)
class CaseConfig:
    """What the case loop needs from the service's settings."""

    secret: str
    max_outside_m: float = 2000.0
    duplicate_window_days: float = 7.0
    webhooks: dict[str, list[str]] = field(default_factory=dict)
    reward_daily_cap_yuan: float = 100.0
    reward_daily_cap_points: int = 100
    timezone: str = "Asia/Shanghai"
    photos: PhotoStore | None = None
    verify_max_m: float = 500.0  # an officer verifies on site: this close to the report
    occurred_max_age_days: float = 365.0  # occurred_at no earlier than this before the report


@dataclass(frozen=True)
class NewReport:
    """A report as submitted (coordinates in ``crs``).

    ``reporter_id`` is an app's (or an Open311 client's) id for the user it files for;
    the reporter's name and phone are contact data of this report, never an identity.
    """

    lat: float
    lon: float
    category: str
    crs: str = "wgs84"
    description: str = ""
    occurred_at: dt.datetime | None = None
    source: str = "app"
    reporter_id: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A hash of the body, to refuse an Idempotency-Key reused for something else."""
        body = json.dumps(
            {
                k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in self.__dict__.items()
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(body.encode()).hexdigest()


def submit(
    sessions: sessionmaker[Session],
    locator: GridLocator,
    config: CaseConfig,
    report: NewReport,
    *,
    user: User | None,
    render: Callable[[Session, Case], T],
    idempotency_key: str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    client_id: int | None = None,
) -> tuple[T, bool]:
    """Record a report, or find the case a try with the same key made: ``(render(case), replayed)``.

    ``client_id`` is the Open311 client (API key) that files for its users.
    Photos are checked and written before the transaction, under temporary names
    that they leave once it has committed, and removed again if it fails; two
    concurrent tries with one key meet on the key's unique index, and the loser
    returns the winner's case.
    """
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        replay = _replay(sessions, user, idempotency_key, report, render)
        if replay is not None:
            return replay, True
    store = config.photos
    if photos and store is None:
        raise InvalidInput("this service takes no photos (no photo directory configured)")
    stored = store.store_all(list(photos), "report") if store and photos else []
    try:
        with transaction(sessions) as session:
            item = create_case(
                session,
                locator,
                config,
                report,
                user=user,
                idempotency_key=idempotency_key,
                photos=stored,
                client_id=client_id,
            )
            result = render(session, item)
    except IntegrityError:
        if store:
            store.discard(stored)
        replay = (
            _replay(sessions, user, idempotency_key, report, render)
            if idempotency_key is not None
            else None
        )
        if replay is None:
            raise
        return replay, True
    except BaseException:
        if store:
            store.discard(stored)
        raise
    if store:
        store.keep(stored)
    return result, False


def check_idempotency_key(key: str) -> None:
    """Refuse a key that cannot name one request: empty, too long, or holding a NUL."""
    if not key.strip():
        raise InvalidInput(
            "Idempotency-Key is empty; send a unique key per report (e.g. a UUID) or no header"
        )
    check_text(key, "Idempotency-Key", limits.IDEMPOTENCY_KEY_MAX)


def _replay(
    sessions: sessionmaker[Session],
    user: User | None,
    key: str,
    report: NewReport,
    render: Callable[[Session, Case], T],
) -> T | None:
    with sessions() as session:
        existing = find_idempotent(session, user, key, report)
        return render(session, existing) if existing else None


def find_idempotent(
    session: Session, user: User | None, key: str, report: NewReport
) -> Case | None:
    """The case a previous request with this key created, or None; refuses a changed body."""
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.scope == _scope_key(user), IdempotencyKey.key == key
        )
    )
    if row is None:
        return None
    if row.request_hash != report.fingerprint():
        raise IdempotencyConflict(
            f"Idempotency-Key {key!r} was used for a different request; use a new key"
        )
    return session.get(Case, row.case_id) if row.case_id else None


def create_case(
    session: Session,
    locator: GridLocator,
    config: CaseConfig,
    report: NewReport,
    *,
    user: User | None,
    idempotency_key: str | None = None,
    photos: list[Photo] | None = None,
    now: dt.datetime | None = None,
    external: tuple[str, str] | None = None,
    allow_outside: bool = False,
    client_id: int | None = None,
) -> Case:
    """Route and record a report; the caller commits (see the module docstring).

    The officer on duty is the one at ``now``, when the report arrives, not when the
    problem occurred; ``occurred_at`` must lie within the horizon before it.
    """
    now = now or utcnow()
    directory = locator.directory
    category, occurred = check_report(
        directory,
        category=report.category,
        source=report.source,
        description=report.description,
        occurred_at=report.occurred_at,
        now=now,
        tz=locator.tz,
        max_age_days=config.occurred_max_age_days,
    )
    check_limits(report)
    parse_crs(report.crs)  # refuses an unknown datum, naming the ones it knows
    decision = locator.route(
        report.lat, report.lon, crs=report.crs, at=now, category=report.category
    )
    lat, lon = (float(v) for v in to_wgs84(report.lat, report.lon, report.crs))
    if decision.grid is None and not allow_outside:
        distance = locator.cellmap.distance_to_nearest(lat, lon, config.max_outside_m)
        if distance is None:
            raise OutsideServiceArea(
                f"({lat:.6f}, {lon:.6f}) is more than {config.max_outside_m:.0f} m from every "
                "grid of this city; check the coordinates and their crs (wgs84, gcj02, bd09)"
            )
    key_row: IdempotencyKey | None = None
    if idempotency_key is not None:
        key_row = IdempotencyKey(
            scope=_scope_key(user), key=idempotency_key, request_hash=report.fingerprint()
        )
        session.add(key_row)
        session.flush()  # a concurrent twin waits here on the unique key, then fails
    reporter = reporter_for(
        session, config.secret, user=user, app_user_id=report.reporter_id, client_id=client_id
    )
    cat_row = session.scalar(select(Category).where(Category.code == report.category))
    assert cat_row is not None
    item = Case(
        **case_columns(
            decision,
            category,
            category_id=cat_row.id,
            department_id=cat_row.department_id,
            lat=lat,
            lon=lon,
            h3_cell=int(h3cells.latlng_to_cells(np.array([lat]), np.array([lon]), CASE_H3_RES)[0]),
            source=report.source,
            description=report.description,
            occurred=occurred,
            reported=now,
            reporter_id=reporter.id if reporter else None,
            submitted_by_id=user.id if user else None,
            contact={
                "id": report.reporter_id,
                "name": report.reporter_name,
                "phone": report.reporter_phone,
            },
            attributes=report.attributes,
            external=external,
        )
    )
    duplicate = nearby_open_cases(
        session, config.duplicate_window_days, lat, lon, cat_row, now=now, limit=1
    )
    if duplicate:
        item.possible_duplicate_of_id = duplicate[0][0].id
    session.add(item)
    session.flush()
    for row in intake_events(
        decision,
        possible_duplicate_of=item.possible_duplicate_of_id,
        actor_user_id=user.id if user else None,
        actor_role=user.role if user else "system",
        lat=lat,
        lon=lon,
        at=now,
    ):
        session.add(CaseEvent(case_id=item.id, **row))
    for photo in photos or []:
        photo.case_id = item.id
        session.add(photo)
    if key_row is not None:
        key_row.case_id = item.id
    link_case(session, item)
    enqueue(session, config.webhooks, "case.created", {"case_id": item.id, "status": item.status})
    publish(session, "case.created", case=item, data={"action": "report"})
    return item


def check_limits(report: NewReport) -> None:
    """Refuse a report beyond the limits of :mod:`grids.limits`, at every door alike."""
    check_text(report.category, "category", limits.NAME_MAX)
    check_text(report.reporter_id, "reporter id", limits.EXTERNAL_ID_MAX)
    check_text(report.reporter_name, "reporter name", limits.NAME_MAX)
    check_text(report.reporter_phone, "reporter phone", limits.PHONE_MAX)
    check_attributes(report.attributes)


def add_event(
    session: Session,
    item: Case,
    action: str,
    from_status: str | None,
    to_status: str,
    *,
    actor_user: User | None,
    actor_role: str,
    note: str = "",
    public_note: str = "",
    lat: float | None = None,
    lon: float | None = None,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> CaseEvent:
    """Append one audit row; rows are never updated or deleted."""
    event = CaseEvent(
        case_id=item.id,
        at=at or utcnow(),
        action=action,
        actor_user_id=actor_user.id if actor_user else None,
        actor_role=actor_role,
        from_status=from_status,
        to_status=to_status,
        note=note,
        public_note=public_note,
        lat=lat,
        lon=lon,
        data=data or {},
    )
    session.add(event)
    return event


def _scope_key(user: User | None) -> str:
    return f"user:{user.id}" if user is not None else "anonymous"


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(f"{with_article(user.role)} may not do this; it needs one of {list(roles)}")
