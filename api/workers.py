"""Background work inside the service: the deadline checker, webhook delivery, and
pruning old live events.

The first two also run from cron (``gridwatch escalate --once``, ``gridwatch
webhooks deliver --once``); inside the service one thread runs them on their
intervals. Live events are pruned hourly whenever the deadline checker runs.

On PostgreSQL several processes (and hosts) serve one store, and only the elected
runner does this work (see :mod:`grids.election`); the others skip their rounds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from grids.cases.escalation import escalate_overdue
from grids.cases.intake import CaseConfig
from grids.city.locator import LocatorCache
from grids.db import transaction
from grids.election import RunnerElection
from grids.errors import NotReady
from grids.events import prune
from grids.exchange.webhooks import deliver_due

log = logging.getLogger("gridwatch.workers")
PRUNE_EVERY_S = 3600.0


def escalate_once(
    sessions: sessionmaker[Session], locators: LocatorCache, config: CaseConfig
) -> list[int]:
    directory = locators.get().directory
    with transaction(sessions) as session:
        return escalate_overdue(session, directory, config)


class Workers:
    """One daemon thread that wakes up on each worker's interval until stopped; it does
    nothing while ``ready()`` says the store is not initialised, or while another process
    is the store's runner."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        locators: LocatorCache,
        config: CaseConfig,
        *,
        escalation_interval_s: float,
        webhook_interval_s: float,
        election: RunnerElection,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.sessions = sessions
        self.election = election
        self.ready = ready
        self.locators = locators
        self.config = config
        self.intervals = {
            "escalate": escalation_interval_s,
            "webhooks": webhook_interval_s,
            "events": PRUNE_EVERY_S if escalation_interval_s > 0 else 0.0,
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridwatch-workers", daemon=True)

    def start(self) -> None:
        if any(v > 0 for v in self.intervals.values()):
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.election.close()

    def _run(self) -> None:
        due = {name: 0.0 for name, interval in self.intervals.items() if interval > 0}
        while not self._stop.is_set():
            now = time.monotonic()
            for name in due:
                if now >= due[name]:
                    self._run_one(name)
                    due[name] = time.monotonic() + self.intervals[name]
            self._stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    def _run_one(self, name: str) -> None:
        if not self.ready() or not self.election.holds():
            return
        try:
            if name == "escalate":
                escalated = escalate_once(self.sessions, self.locators, self.config)
                if escalated:
                    log.info("escalated cases %s", escalated)
            elif name == "events":
                with transaction(self.sessions) as session:
                    prune(session)
            else:
                deliver_due(self.sessions, secret=self.config.secret)
        except NotReady:
            pass
        except Exception:  # a bad run must not stop the next one
            log.exception("worker %s failed", name)
