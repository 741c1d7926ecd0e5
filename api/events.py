"""Live updates over server-sent events: ``GET /api/v1/events``.

Each stream sends the events its caller may see (see :func:`grids.events.may_see`),
each with its id, so a browser's ``EventSource`` that reconnects sends
``Last-Event-ID`` and gets what it missed. A new stream starts with a ``ready``
event carrying the newest id (the page loads its data then). A client that was
away longer than the events are kept gets ``reset`` (reload everything).
The caller is known by the bearer token or the page's session cookie, since an
``EventSource`` cannot send headers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth import session_user
from api.deps import LocatorDep
from api.openapi import media
from grids.accounts.models import User
from grids.accounts.scope import Scope, scope_of
from grids.errors import InvalidInput
from grids.events import EventCursor, LiveEvent, PgListener, id_range, may_see, on_commit
from grids.limits import MAX_ID

router = APIRouter(tags=["events"])

HEARTBEAT_S = 15.0
BATCH = 200
STREAM_FOR_S = 600.0
"""A stream ends after this long and the browser reconnects (with Last-Event-ID)."""
REPORTER_FIELDS = ("case_id", "status")
"""What a reporter's stream says of an event: which of their cases, and its state."""


class EventHub:
    """The streams of this process: each waits on an asyncio event that a commit (or, on
    PostgreSQL, a NOTIFY from any process) sets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._streams: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._unsubscribe = on_commit(engine, self.wake)
        self._listener: PgListener | None = None

    def start(self) -> None:
        """Listen for other processes' commits (PostgreSQL); a second start is a no-op."""
        if self.engine.dialect.name == "postgresql" and self._listener is None:
            self._listener = PgListener(self.engine)
            self._listener.start()

    def stop(self) -> None:
        self._unsubscribe()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.wake()

    def wake(self) -> None:
        """Set every stream's event (callable from any thread)."""
        for loop, waiting in list(self._streams):
            if not loop.is_closed():
                loop.call_soon_threadsafe(waiting.set)

    def attach(self) -> asyncio.Event:
        waiting = asyncio.Event()
        self._streams.add((asyncio.get_running_loop(), waiting))
        return waiting

    def detach(self, waiting: asyncio.Event) -> None:
        self._streams = {pair for pair in self._streams if pair[1] is not waiting}


def _frame(row: LiveEvent, user: User) -> str:
    data: dict[str, Any] = {"id": row.id, "kind": row.kind, "at": row.at.isoformat(), **row.data}
    if user.role == "reporter":
        data = {k: data[k] for k in ("id", "kind", "at", *REPORTER_FIELDS) if k in data}
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {row.id}\nevent: {row.kind}\ndata: {body}\n\n"


def _start(sessions: sessionmaker[Session], last_event_id: int | None) -> tuple[int, bool]:
    """Where a stream starts, and whether the client must reload (its id is gone)."""
    with sessions() as session:
        low, high = id_range(session)
    if last_event_id is None:
        return high, False
    if last_event_id > high or (low and last_event_id < low - 1):
        return high, True
    return last_event_id, False


def _read(
    sessions: sessionmaker[Session], cursor: EventCursor, user: User, scope: Scope
) -> tuple[list[str], bool]:
    """The frames not yet sent that this user may see, and whether more wait."""
    with sessions() as session:
        rows = cursor.read(session, limit=BATCH, now=time.monotonic())
    frames = [_frame(r, user) for r in rows if may_see(user, scope, r)]
    return frames, len(rows) == BATCH


@router.get("/events", response_class=StreamingResponse, responses=media("text/event-stream"))
async def events(
    request: Request,
    locator: LocatorDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events of the changes you may see: ``case.created``, ``case.changed``,
    ``case.escalated``, ``case.message`` (``data`` is JSON with ``case_id``, ``status``,
    ``version``, ``action``, ``by``). Send ``Last-Event-ID`` to resume."""
    user = await run_in_threadpool(session_user, request)
    scope = scope_of(user, locator.directory)
    try:
        resume = int(last_event_id) if last_event_id else None
        if resume is not None and not 0 <= resume <= MAX_ID:
            raise ValueError(last_event_id)
    except ValueError as exc:
        raise InvalidInput("Last-Event-ID must be the id of an event, e.g. 42") from exc
    sessions = request.app.state.sessions
    hub: EventHub = request.app.state.event_hub
    last, reset = await run_in_threadpool(_start, sessions, resume)
    cursor = EventCursor(last)

    async def stream() -> AsyncIterator[str]:
        waiting = hub.attach()
        ends = time.monotonic() + STREAM_FOR_S
        try:
            yield "retry: 2000\n\n"
            if reset:
                yield f"id: {last}\nevent: reset\ndata: {{}}\n\n"
            elif resume is None:
                yield f"id: {last}\nevent: ready\ndata: {{}}\n\n"
            while time.monotonic() < ends and not request.app.state.stopping:
                waiting.clear()
                frames, more = await run_in_threadpool(_read, sessions, cursor, user, scope)
                for frame in frames:
                    yield frame
                if more:
                    continue
                try:
                    await asyncio.wait_for(waiting.wait(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            hub.detach(waiting)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
