"""Webhooks survive a receiver that is down; the deadline checker (once, however many run) and
user tokens from the CLI."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app as cli
from grids.cases.escalation import escalate_overdue
from grids.cases.intake import CaseConfig, NewReport, create_case
from grids.cases.models import Case, CaseEvent, WebhookDelivery
from grids.city.locator import GridLocator
from grids.db import session_factory
from grids.exchange.webhooks import deliver_due
from grids.samples import DEMO_LAT, DEMO_LON
from tests.conftest import Store


class Receiver(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(
            {"event": self.headers["X-Gridwatch-Event"], "body": json.loads(body)}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def locator_for(store: Store) -> GridLocator:
    with store.sessions() as session:
        return GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")


def test_webhooks_are_kept_until_the_receiver_takes_them(city_store: Store, receiver: str) -> None:
    down = "http://127.0.0.1:9/never"  # nothing listens on the discard port
    config = CaseConfig(secret="s", webhooks={"case.created": [down, receiver]})
    locator = locator_for(city_store)
    with city_store.transaction() as session:
        case = create_case(
            session, locator, config, NewReport(DEMO_LAT, DEMO_LON, "garbage_piled"), user=None
        )
        case_id = case.id
    sessions = session_factory(city_store.engine)
    now = dt.datetime.now(dt.UTC)
    delivered, failed = deliver_due(sessions, secret="s", now=now)
    assert (delivered, failed) >= (1, 1)
    assert any(r["body"]["case_id"] == case_id for r in Receiver.received)
    with city_store.sessions() as session:
        pending = session.scalar(select(WebhookDelivery).where(WebhookDelivery.url == down))
        assert pending is not None and pending.delivered_at is None and pending.attempts == 1
        assert pending.last_error and pending.next_attempt_at > now
        first_retry = pending.next_attempt_at
    assert deliver_due(sessions, secret="s", now=now) == (0, 0)  # not due yet: backing off
    deliver_due(sessions, secret="s", now=first_retry + dt.timedelta(seconds=1))
    with city_store.sessions() as session:
        again = session.scalar(select(WebhookDelivery).where(WebhookDelivery.url == down))
        assert again is not None and again.attempts == 2
        assert again.next_attempt_at - first_retry > first_retry - now  # the backoff grows


def test_cli_user_tokens_and_escalation(city_store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"GRIDWATCH_DATABASE_URL": city_store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    made = runner.invoke(
        cli,
        ["user", "create", "--name", "调度员", "--role", "dispatcher", "--scope", "DG20"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert len(token) > 30
    refused = runner.invoke(cli, ["user", "create", "--name", "x", "--role", "dispatcher"], env=env)
    assert refused.exit_code == 2 and "needs --scope" in refused.output
    bad_role = runner.invoke(cli, ["user", "create", "--name", "x", "--role", "mayor"], env=env)
    assert bad_role.exit_code == 2 and "role must be one of" in bad_role.output

    locator = locator_for(city_store)
    with city_store.transaction() as session:
        case = create_case(
            session,
            locator,
            CaseConfig(secret="s"),
            NewReport(DEMO_LAT, DEMO_LON, "emergency_incident"),
            user=None,
        )
        case.ack_due = case.next_due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        case_id = case.id
    result = runner.invoke(cli, ["escalate", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert str(case_id) in result.output
    assert "0 cases escalated" in runner.invoke(cli, ["escalate", "--once"], env=env).output
    with city_store.sessions() as session:
        row = session.get(Case, case_id)
        assert row is not None and row.escalation_level == 1 and row.missed == "acknowledge"


def test_two_deadline_checkers_at_once_escalate_a_case_once(city_store: Store) -> None:
    """A second checker (another process, the cron job) that runs while the first one's
    transaction is open passes over the cases it holds, and finds nothing left afterwards."""
    if city_store.backend != "postgis":
        pytest.skip("SQLite serves one process, and its writers take turns")
    locator, config = locator_for(city_store), CaseConfig(secret="s")
    with city_store.transaction() as session:
        case = create_case(
            session, locator, config, NewReport(DEMO_LAT, DEMO_LON, "garbage_piled"), user=None
        )
        case.ack_due = case.next_due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        case_id = case.id
    second: list[int] = []

    def other_checker() -> None:
        with city_store.transaction() as session:
            second.extend(escalate_overdue(session, locator.directory, config))

    with city_store.transaction() as session:
        assert case_id in escalate_overdue(session, locator.directory, config)
        checker = threading.Thread(target=other_checker)
        checker.start()
        checker.join(timeout=5)  # it does not wait for the first one
        assert not checker.is_alive() and case_id not in second
    with city_store.transaction() as session:  # and afterwards it finds the case escalated
        assert case_id not in escalate_overdue(session, locator.directory, config)
    with city_store.sessions() as session:
        escalations = session.scalar(
            select(func.count()).where(CaseEvent.case_id == case_id, CaseEvent.action == "escalate")
        )
    assert escalations == 1
