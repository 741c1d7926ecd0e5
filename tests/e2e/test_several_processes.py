"""The service on several processes of one PostgreSQL store (as on several hosts): the
background work runs once (one escalation per overdue case, one delivery per webhook) and
the live events of one process reach the streams of the others."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select, text, update

from grids.cases.models import Case, CaseEvent, WebhookDelivery
from grids.election import LOCK_CLASS
from tests.api.conftest import make_users
from tests.conftest import load_city, make_store
from tests.e2e.sse import EventReader
from tests.e2e.test_case_loop_http import _two_grids
from tests.e2e.test_events_stream import auth, report, service_process

pytestmark = pytest.mark.e2e
CASES = 12


class Counting(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that counts the requests of each delivery id."""

    seen: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with Counting.lock:
            Counting.seen[self.headers["X-Gridwatch-Delivery"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    Counting.seen = Counter()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def wait_until(done: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not done in {timeout} s: {what}"
        time.sleep(0.3)


@pytest.mark.postgis
def test_three_processes_run_the_background_work_once_and_share_the_stream(
    tmp_path: Path, request: pytest.FixtureRequest, sample_city_dir: Path, receiver: str
) -> None:
    store = make_store("postgis", tmp_path, request)
    load_city(store, sample_city_dir)
    env = {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": store.url,
        "GRIDWATCH_SECRET_KEY": "several-processes",
        "GRIDWATCH_ESCALATION_INTERVAL_S": "0.1",  # every process would race for each case
        "GRIDWATCH_WEBHOOK_INTERVAL_S": "0.1",
        "GRIDWATCH_WEBHOOKS": json.dumps({"*": [receiver]}),
    }
    with (  # one host with two workers, and a second host
        service_process(
            {**env, "GRIDWATCH_DATA_DIR": str(tmp_path / "a")}, "--workers", "2"
        ) as first,
        service_process({**env, "GRIDWATCH_DATA_DIR": str(tmp_path / "b")}) as second,
    ):
        tokens = make_users(store, *_two_grids(first))
        stream = EventReader(f"{second}/api/v1/events", auth(tokens["dispatcher"]))
        stream.wait_for(lambda e: e.kind == "ready")
        cases = [
            report((first, second)[i % 2], tokens["citizen"], dlat=0.0003 * i)["id"]
            for i in range(CASES)
        ]
        seen = stream.wait_for(lambda e: e.kind == "case.created" and e.data["case_id"] == cases[0])
        assert seen.data["status"] == "routed"  # posted to the first host, seen on the second

        overdue = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        with store.transaction() as session:
            session.execute(
                update(Case).where(Case.id.in_(cases)).values(ack_due=overdue, next_due=overdue)
            )

        def escalations() -> Counter[int]:
            with store.sessions() as session:
                rows = session.execute(
                    select(CaseEvent.case_id, func.count())
                    .where(CaseEvent.case_id.in_(cases), CaseEvent.action == "escalate")
                    .group_by(CaseEvent.case_id)
                ).all()
            return Counter({case_id: n for case_id, n in rows})

        def undelivered() -> int:
            with store.sessions() as session:
                return int(
                    session.scalar(
                        select(func.count()).where(WebhookDelivery.delivered_at.is_(None))
                    )
                    or 0
                )

        wait_until(lambda: len(escalations()) == CASES, "every overdue case escalated")
        escalated = stream.wait_for(lambda e: e.kind == "case.escalated")
        assert escalated.data["case_id"] in cases
        wait_until(lambda: undelivered() == 0, "every webhook delivered")
        time.sleep(2.0)  # many more rounds of every process: nothing happens twice
        assert escalations() == Counter(dict.fromkeys(cases, 1))
        with store.sessions() as session:
            deliveries = session.scalars(select(WebhookDelivery.id)).all()
            schema = session.scalar(text("SELECT current_schema()"))
            runners = session.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :cls AND objid::bigint = hashtext(:schema)::bigint & 4294967295"
                ),
                {"cls": LOCK_CLASS, "schema": schema},
            )
        assert len(deliveries) >= 2 * CASES  # case.created and case.escalated of each
        assert Counting.seen == Counter({str(i): 1 for i in deliveries})
        assert runners == 1  # of three processes, one runs the background work
        stream.close()


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    env = {**os.environ, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    env.pop("GRIDWATCH_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "api", "serve", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--workers 2 needs PostgreSQL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
