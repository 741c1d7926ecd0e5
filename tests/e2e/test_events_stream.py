"""Live events over real HTTP: scoped streams, Last-Event-ID resume, and on PostgreSQL
two service processes that each see the other's changes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import make_users
from tests.conftest import Store
from tests.e2e.sse import EventReader
from tests.e2e.test_case_loop_http import _two_grids, free_port, serve

pytestmark = pytest.mark.e2e


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def report(base: str, token: str, category: str = "garbage_piled", dlat: float = 0.0) -> dict:
    created = httpx.post(
        f"{base}/api/v1/cases",
        json={"lat": DEMO_LAT + dlat, "lon": DEMO_LON, "category": category},
        headers=auth(token),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return created.json()


def quiet_settings(city_store: Store, tmp_path: Path) -> Settings:
    """The service on the city store, without background workers."""
    return Settings(
        database_url=city_store.url,
        data_dir=tmp_path,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key="events",
    )


def test_streams_carry_what_each_caller_may_see(city_store: Store, tmp_path: Path) -> None:
    if city_store.backend != "sqlite":
        pytest.skip("the in-process bus; PostgreSQL is the two-process test below")
    with serve(quiet_settings(city_store, tmp_path)) as base:
        tokens = make_users(city_store, *_two_grids(base))
        url = f"{base}/api/v1/events"
        streams = {
            who: EventReader(url, auth(tokens[who]))
            for who in ("dispatcher", "far_dispatcher", "citizen", "other_citizen", "officer")
        }
        assert streams["dispatcher"].content_type.startswith("text/event-stream")
        for stream in streams.values():
            stream.wait_for(lambda e: e.kind == "ready")
        case = report(base, tokens["citizen"])
        created = streams["dispatcher"].wait_for(lambda e: e.kind == "case.created")
        assert created.data["case_id"] == case["id"] and created.data["status"] == "routed"
        mine = streams["citizen"].wait_for(lambda e: e.kind == "case.created")
        assert set(mine.data) == {"id", "kind", "at", "case_id", "status"}  # no names, no ids
        acked = httpx.post(
            f"{base}/api/v1/cases/{case['id']}/acknowledge",
            json={"version": case["version"]},
            headers=auth(tokens["dispatcher"]),
        )
        assert acked.status_code == 200, acked.text
        changed = streams["dispatcher"].wait_for(lambda e: e.kind == "case.changed")
        assert changed.data["action"] == "acknowledge" and changed.data["by"] == "dispatcher"
        assert streams["citizen"].wait_for(lambda e: e.kind == "case.changed").data == {
            "id": changed.data["id"],
            "kind": "case.changed",
            "at": changed.data["at"],
            "case_id": case["id"],
            "status": "acknowledged",
        }
        for outsider in ("far_dispatcher", "other_citizen"):
            assert [e.kind for e in streams[outsider].drain(1.0)] == ["ready"], outsider

        # a dropped connection resumes where it left off
        streams["dispatcher"].close()
        missed = report(base, tokens["citizen"], dlat=0.001)
        resumed = EventReader(
            url, auth(tokens["dispatcher"], **{"Last-Event-ID": changed.id or ""})
        )
        event = resumed.wait_for(lambda e: e.kind == "case.created")
        assert event.data["case_id"] == missed["id"]
        assert [e.kind for e in resumed.seen] == ["case.created"]  # no ready: a resume
        gone = EventReader(url, auth(tokens["dispatcher"], **{"Last-Event-ID": "999999"}))
        assert gone.wait_for(lambda e: True).kind == "reset"
        bad = httpx.get(url, headers=auth(tokens["dispatcher"], **{"Last-Event-ID": "yesterday"}))
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]
        assert httpx.get(url).status_code == 401
        for stream in (*streams.values(), resumed, gone):
            stream.close()


@contextmanager
def service_process(env: dict[str, str], *options: str) -> Iterator[str]:
    """``gridwatch serve`` (with ``options``) in a process of its own; yields its base URL
    once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the service did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_service_processes_share_one_stream_on_postgresql(
    city_store: Store, tmp_path: Path
) -> None:
    if city_store.backend != "postgis":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    env = {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": city_store.url,
        "GRIDWATCH_SECRET_KEY": "two-processes",
        "GRIDWATCH_ESCALATION_INTERVAL_S": "0",
        "GRIDWATCH_WEBHOOK_INTERVAL_S": "0",
    }
    with (
        service_process({**env, "GRIDWATCH_DATA_DIR": str(tmp_path / "a")}) as first,
        service_process({**env, "GRIDWATCH_DATA_DIR": str(tmp_path / "b")}) as second,
    ):
        tokens = make_users(city_store, *_two_grids(first))
        url = f"{second}/api/v1/events"
        stream = EventReader(url, auth(tokens["dispatcher"]))
        ready = stream.wait_for(lambda e: e.kind == "ready")
        case = report(first, tokens["citizen"])
        created = stream.wait_for(lambda e: e.kind == "case.created", timeout=5)
        assert created.data["case_id"] == case["id"]
        assert int(created.id or 0) > int(ready.id or 0)

        stream.close()
        acked = httpx.post(
            f"{first}/api/v1/cases/{case['id']}/acknowledge",
            json={"version": case["version"]},
            headers=auth(tokens["dispatcher"]),
        )
        assert acked.status_code == 200, acked.text
        resumed = EventReader(
            url, auth(tokens["dispatcher"], **{"Last-Event-ID": created.id or ""})
        )
        event = resumed.wait_for(lambda e: e.kind == "case.changed", timeout=5)
        assert event.data == {**event.data, "case_id": case["id"], "action": "acknowledge"}
        # and live again on the resumed stream, from the other process
        later = report(first, tokens["citizen"], dlat=0.001)
        again = resumed.wait_for(lambda e: e.data.get("case_id") == later["id"], timeout=5)
        assert again.kind == "case.created"
        resumed.close()


def test_the_staffing_board_is_pushed_to_the_towns_console(
    city_store: Store, tmp_path: Path
) -> None:
    """A duty check-in at an operation's point reaches the town's dispatchers at once with
    the board; other towns and reporters hear nothing of it."""
    if city_store.backend != "sqlite":
        pytest.skip("the same bus as above; PostgreSQL's fan-out is tested below")
    import datetime as dt

    with serve(quiet_settings(city_store, tmp_path)) as base:
        tokens = make_users(city_store, *_two_grids(base))
        located = httpx.get(f"{base}/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON})
        town = located.json()["town"]["code"]
        community = located.json()["path"][-2]["code"]
        url = f"{base}/api/v1/events"
        streams = {
            who: EventReader(url, auth(tokens[who]))
            for who in ("dispatcher", "far_dispatcher", "citizen")
        }
        for stream in streams.values():
            stream.wait_for(lambda e: e.kind == "ready")
        admin = auth(tokens["admin"])
        volunteer = {"code": "SSE-V1", "kind": "义警", "name": "周一", "unit": community}
        assert httpx.post(f"{base}/api/v1/volunteers", json=volunteer, headers=admin).is_success
        now = dt.datetime.now(dt.UTC)
        window = {
            "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
        }
        operation = {
            "code": "OP-SSE",
            "name": "演唱会安保",
            "town": town,
            **window,
            "points": [
                {"code": "P1", "name": "北门", "lat": DEMO_LAT, "lon": DEMO_LON, "headcount": 1}
            ],
            "shifts": [{"code": "S1", **window}],
        }
        assert httpx.post(f"{base}/api/v1/operations", json=operation, headers=admin).is_success
        checkin = {"volunteer": "SSE-V1", "at": now.isoformat(), "lat": DEMO_LAT, "lon": DEMO_LON}
        posted = httpx.post(
            f"{base}/api/v1/operations/OP-SSE/checkins",
            json={"checkins": [checkin]},
            headers=admin,
        )
        assert posted.status_code == 200, posted.text
        pushed = streams["dispatcher"].wait_for(lambda e: e.kind == "operation.staffing")
        assert pushed.data["operation"] == "OP-SSE" and pushed.data["counts"]["staffed"] == 1
        assert "周一" not in str(pushed.data)
        for who in ("far_dispatcher", "citizen"):
            assert not [e for e in streams[who].drain() if e.kind == "operation.staffing"], who
        for stream in streams.values():
            stream.close()
