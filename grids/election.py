"""Which process runs the background work: one per store, across processes and hosts.

On PostgreSQL every service process competes for a session-level advisory lock held on a
connection of its own; the process that holds it runs the deadline checker, webhook delivery
and event pruning, the others try again on each round (the lock goes with its connection, so
a runner that stops or is cut off frees it for the next one). The key is the store's schema,
so two stores in one database elect a runner each. SQLite's store serves one process, which
always runs the work.

An election can overlap for a moment (a runner whose connection was cut has not noticed yet),
so the work itself claims its rows with ``FOR UPDATE SKIP LOCKED`` and never does one twice.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("gridwatch.election")

LOCK_CLASS = 0x67726964
"""The first key of the advisory lock ("grid"); the second is the hash of the schema."""
TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))"
UNLOCK = "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))"


class RunnerElection:
    """Whether this process is the store's runner; ask :meth:`holds` before each round."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.held = engine.dialect.name != "postgresql"
        self._conn: Any = None

    def holds(self) -> bool:
        """Whether this process runs the background work now (becoming the runner if none is)."""
        if self.engine.dialect.name != "postgresql":
            return True
        import psycopg

        try:
            if self._conn is None:
                cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
                cparams.setdefault("connect_timeout", 5)  # a round never hangs on the election
                self._conn = psycopg.connect(*cargs, autocommit=True, **cparams)
            if self.held:
                self._conn.execute("SELECT 1")  # the lock lives as long as this connection
            else:
                self.held = bool(self._conn.execute(TRY_LOCK, (LOCK_CLASS,)).fetchone()[0])
                if self.held:
                    log.warning("this process now runs the background work")
        except psycopg.Error as exc:
            if self.held:
                log.warning("background work: lost the runner's lock (%s)", exc)
            self.close()
        return self.held

    def close(self) -> None:
        """Give the lock up, then close its connection.

        The unlock is explicit: the server frees a closed connection's locks only once its
        backend has noticed the disconnect, and until then no other process could take over.
        """
        was_held, self.held = self.held, self.engine.dialect.name != "postgresql"
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if was_held and self.engine.dialect.name == "postgresql":
                conn.execute(UNLOCK, (LOCK_CLASS,))
        except Exception:  # a connection that is already gone: the server frees the lock
            log.debug("releasing the runner's lock failed", exc_info=True)
        finally:
            conn.close()
