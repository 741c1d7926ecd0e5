"""Live events: every change a page should see at once, published after commit.

Any domain module publishes with one call in its own transaction::

    publish(session, "case.changed", case=item, data={"action": "reassign"})

The event is a row of ``live_events`` written with the change (so it exists
exactly when the change does, and a client that reconnects with
``Last-Event-ID`` gets what it missed). Subscribers are woken after the commit:
on PostgreSQL through ``NOTIFY`` (delivered at commit to every service process
that listens, see :class:`PgListener`), and in this process by an after-commit
hook on the session (the only way on SQLite, where one process serves).

Who sees an event is decided by its audience: the units, people and users it
concerns, taken from the case now and from the case's previous event, so an
officer a case was taken from learns that it went away.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    delete,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from grids.accounts.models import User
from grids.accounts.scope import Scope
from grids.cases.models import Case
from grids.city.models import Base
from grids.db import UtcDateTime, utcnow

log = logging.getLogger("gridwatch.events")

CHANNEL = "gridwatch_events"
KEEP_FOR = dt.timedelta(days=2)
"""Events older than this are pruned; a client that was away longer reloads."""

_PUBLISHED = "gridwatch.events.published"
_NOTIFIED = "gridwatch.events.notified"


class LiveEvent(Base):
    """One pushed change: its kind, the case it is about, who may see it, a small payload."""

    __tablename__ = "live_events"
    __table_args__ = (
        Index("ix_live_events_at", "at"),
        Index("ix_live_events_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


def publish(
    session: Session,
    kind: str,
    *,
    case: Case | None = None,
    units: Iterable[int | None] = (),
    people: Iterable[int | None] = (),
    users: Iterable[int | None] = (),
    data: dict[str, Any] | None = None,
) -> LiveEvent:
    """Record an event in the caller's transaction; subscribers see it once that commits.

    ``case`` adds the case's grid, community, town, officer and reporter to the
    audience (and those of its previous event); ``units``, ``people`` and
    ``users`` name further ones (ids), e.g. a town for a staffing change.
    """
    audience = {"units": set(_ids(units)), "people": set(_ids(people)), "users": set(_ids(users))}
    payload = dict(data or {})
    previous: dict[str, Any] | None = None
    if case is not None:
        session.flush()
        for key, values in case_audience(case).items():
            audience[key] |= values
        if kind != "case.created":  # a case just reported has no audience before this one
            previous = session.scalar(
                select(LiveEvent.audience)
                .where(LiveEvent.case_id == case.id)
                .order_by(LiveEvent.id.desc())
                .limit(1)
            )
        payload = {"case_id": case.id, "status": case.status, "version": case.version, **payload}
    row = LiveEvent(
        at=utcnow(),
        kind=kind,
        case_id=case.id if case is not None else None,
        audience={
            "current": {key: sorted(values) for key, values in audience.items()},
            "previous": (previous or {}).get("current", {}) if case is not None else {},
        },
        data=payload,
    )
    session.add(row)
    session.flush()
    session.info[_PUBLISHED] = True
    if session.get_bind().dialect.name == "postgresql" and not session.info.get(_NOTIFIED):
        # delivered when (and only if) the transaction commits; one per transaction
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        session.info[_NOTIFIED] = True
    return row


def case_audience(item: Case) -> dict[str, set[int]]:
    """The units, people and users a case concerns now."""
    reporter_user = item.reporter.user_id if item.reporter is not None else None
    return {
        "units": set(_ids((item.grid_id, item.community_id, item.town_id, item.assignee_unit_id))),
        "people": set(_ids((item.officer_id,))),
        "users": set(_ids((item.submitted_by_id, reporter_user))),
    }


def _ids(values: Iterable[int | None]) -> list[int]:
    return [int(v) for v in values if v is not None]


def may_see(user: User, scope: Scope, row: LiveEvent) -> bool:
    """Whether a user is in the event's audience (its current one or the previous one)."""
    return any(
        _in(user, scope, part)
        for part in (row.audience.get("current", {}), row.audience.get("previous", {}))
    )


def _in(user: User, scope: Scope, audience: dict[str, Sequence[int]]) -> bool:
    if user.id in audience.get("users", ()):
        return True
    if user.role == "reporter":
        return False
    if scope.everywhere:
        return True
    units = set(audience.get("units", ()))
    if scope.grid_ids is not None:
        return bool(units & scope.grid_ids) or user.person_id in audience.get("people", ())
    return bool(units & (scope.unit_ids or frozenset()))


def events_after(session: Session, last_id: int, *, limit: int = 200) -> list[LiveEvent]:
    """The events after ``last_id``, oldest first."""
    return list(
        session.scalars(
            select(LiveEvent).where(LiveEvent.id > last_id).order_by(LiveEvent.id).limit(limit)
        ).all()
    )


def id_range(session: Session) -> tuple[int, int]:
    """The oldest and newest event ids kept (0, 0 when there are none)."""
    low, high = session.execute(select(func.min(LiveEvent.id), func.max(LiveEvent.id))).one()
    return int(low or 0), int(high or 0)


def prune(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete the events older than :data:`KEEP_FOR`; returns how many went."""
    cutoff = (now or utcnow()) - KEEP_FOR
    result = session.execute(delete(LiveEvent).where(LiveEvent.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# waking the subscribers of this process after a commit
# --------------------------------------------------------------------------

_wakers: dict[str, set[Callable[[], None]]] = defaultdict(set)
_lock = threading.Lock()


def _store_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def on_commit(engine: Engine, wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake`` (from any thread) after every commit that published on this store;
    returns the function that unsubscribes it."""
    key = _store_key(engine)
    with _lock:
        _wakers[key].add(wake)

    def unsubscribe() -> None:
        with _lock:
            _wakers[key].discard(wake)

    return unsubscribe


def wake_all(engine: Engine) -> None:
    """Wake every subscriber of this store in this process."""
    with _lock:
        wakers = list(_wakers.get(_store_key(engine), ()))
    for wake in wakers:
        try:
            wake()
        except Exception:  # one broken subscriber must not stop the others
            log.exception("waking a live-event subscriber failed")


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_PUBLISHED, False):
        session.info.pop(_NOTIFIED, None)
        bind = session.get_bind()
        wake_all(bind if isinstance(bind, Engine) else bind.engine)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)
    session.info.pop(_NOTIFIED, None)


class PgListener:
    """A thread that ``LISTEN``s on PostgreSQL and wakes this process's subscribers for the
    commits of every process; it reconnects after a lost connection (and wakes them then,
    so they catch up on what they missed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridwatch-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        while not self._stop.is_set():
            try:
                with psycopg.connect(*cargs, autocommit=True, **cparams) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    wake_all(self.engine)
                    while not self._stop.is_set():
                        if any(True for _ in conn.notifies(timeout=0.5, stop_after=1)):
                            wake_all(self.engine)
            except Exception as exc:  # the server went away: try again shortly
                log.warning("live events: LISTEN connection lost (%s); reconnecting", exc)
                self._stop.wait(1.0)
