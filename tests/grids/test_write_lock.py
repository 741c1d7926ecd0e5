"""The SQLite writers of one process take turns in the order they came (issue 10, item 9)."""

from __future__ import annotations

import threading
import time

from grids.db import TurnLock


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the waiters never queued"
        time.sleep(0.001)


def test_writers_get_the_lock_in_the_order_they_asked() -> None:
    lock, order = TurnLock(), []
    lock.__enter__()  # the writer at work

    def writer(n: int) -> None:
        with lock:
            order.append(n)

    threads = []
    for n in range(8):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=n: len(lock._waiters) == n + 1)  # each queues before the next comes
    lock.__exit__(None, None, None)
    for thread in threads:
        thread.join(10)
    assert order == list(range(8))


def test_a_writer_that_lets_go_does_not_take_the_lock_again_before_a_waiter() -> None:
    """A plain ``threading.Lock`` lets the releasing thread take it again at once: under 32
    writers, some waited seconds while others went round again (p99 of 6–7 s)."""
    lock, order = TurnLock(), []
    lock.__enter__()

    def waiter_writes() -> None:
        with lock:
            order.append("waiter")

    waiter = threading.Thread(target=waiter_writes)
    waiter.start()
    _wait_for(lambda: len(lock._waiters) == 1)
    lock.__exit__(None, None, None)
    with lock:  # the same writer at once again: it queues behind the waiter
        order.append("again")
    waiter.join(10)
    assert order == ["waiter", "again"]
