"""An event stream misses no event when two writers commit their ids out of order."""

from __future__ import annotations

from sqlalchemy.orm import Session

from grids.events import GAP_WAIT_S, EventCursor, LiveEvent, id_range
from tests.conftest import Store


def _event(session: Session, kind: str) -> int:
    row = LiveEvent(kind=kind, audience={}, data={})
    session.add(row)
    session.flush()  # takes its id now, visible to others once committed
    return row.id


def test_an_event_committed_after_a_later_one_still_reaches_the_stream(store: Store) -> None:
    """Seen under load on PostgreSQL (make loadtest): 27 of 948 new cases never reached
    the dispatchers' streams, because a reader moved past an id whose writer had not
    committed yet. On SQLite writers take turns, so the ids arrive in order there."""
    with store.sessions() as session:
        start = id_range(session)[1]
    cursor = EventCursor(start)
    slow, fast = store.sessions(), store.sessions()
    try:
        if store.backend == "postgis":
            first = _event(slow, "slow")  # id n, not committed yet
            second = _event(fast, "fast")  # id n + 1, committed first
            fast.commit()
            with store.sessions() as reader:
                assert [r.id for r in cursor.read(reader, limit=50, now=0.0)] == [second]
            slow.commit()
        else:
            first = _event(slow, "slow")
            slow.commit()
            second = _event(fast, "fast")
            fast.commit()
        with store.sessions() as reader:
            later = [r.id for r in cursor.read(reader, limit=50, now=1.0)]
        assert later == ([first] if store.backend == "postgis" else [first, second])
        with store.sessions() as reader:
            assert cursor.read(reader, limit=50, now=2.0) == []  # each once
        assert cursor.last == second
    finally:
        slow.close()
        fast.close()


def test_an_id_whose_writer_rolled_back_holds_the_stream_only_a_while(store: Store) -> None:
    with store.sessions() as session:
        start = id_range(session)[1]
    cursor = EventCursor(start)
    with store.sessions() as lost:
        lost_id = _event(lost, "lost")
        lost.rollback()
    with store.transaction() as session:
        kept = _event(session, "kept")
    with store.sessions() as reader:
        assert [r.id for r in cursor.read(reader, limit=50, now=0.0)] == [kept]
        if kept == lost_id:  # SQLite gives a rolled-back id again: no gap
            assert cursor.last == kept
            return
        assert cursor.last == lost_id - 1  # waits for the missing id, a while
        assert cursor.read(reader, limit=50, now=GAP_WAIT_S / 2) == []
        assert cursor.last == lost_id - 1
        assert cursor.read(reader, limit=50, now=GAP_WAIT_S + 1) == []
    assert cursor.last == kept
