"""The case loop over real HTTP (uvicorn on a socket), with concurrency and restarts."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.types import ASGIApp

from api.app import create_app
from api.settings import Settings
from grids.cases.models import Case, CaseEvent, RewardEntry
from grids.city.models import Assignment, Person, Unit
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import jpeg_with_gps, make_users
from tests.conftest import Store

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(settings: Settings, wrap: Callable[[ASGIApp], ASGIApp] | None = None) -> Iterator[str]:
    """The app (in ``wrap`` if given) on a real socket in a thread; yields its base URL."""
    port = free_port()
    app: ASGIApp = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            wrap(app) if wrap else app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def live_settings(store: Store, data_dir: Path, secret: str) -> Settings:
    """Settings of a served app on the store, without background workers."""
    return Settings(
        database_url=store.url,
        data_dir=data_dir,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key=secret,
    )


@pytest.fixture(scope="module")
def live(
    city_store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str], Settings]]:
    settings = live_settings(city_store, tmp_path_factory.mktemp("live"), "live-secret")
    with serve(settings) as base:
        tokens = make_users(city_store, *_two_grids(base))
        yield base, tokens, settings


def auth(tokens: dict[str, str], who: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}", **extra}


def test_report_with_photo_goes_round_the_loop_over_http(live, city_store: Store) -> None:  # type: ignore[no-untyped-def]
    base, tokens, _ = live
    with httpx.Client(base_url=base, timeout=30) as http:
        created = http.post(
            "/api/v1/cases",
            data={
                "report": json.dumps(
                    {
                        "lat": DEMO_LAT,
                        "lon": DEMO_LON,
                        "category": "fire_exit_blocked",
                        "description": "楼梯间堆放杂物",
                        "reporter": {"id": "wx-http", "phone": "13700000000"},
                    }
                )
            },
            files=[("photos", ("p.jpg", jpeg_with_gps(), "image/jpeg"))],
            headers=auth(tokens, "citizen"),
        )
        assert created.status_code == 201, created.text
        case = created.json()
        assert case["routing"]["assignee"]["kind"] == "officer"
        assert case["routing"]["officer"]["code"]
        steps = [
            ("officer", "acknowledge", {}),
            ("officer", "verify", {"valid": True, "lat": DEMO_LAT, "lon": DEMO_LON + 0.0001}),
            ("officer", "start", {}),
            ("officer", "resolve", {"note": "通道已清理"}),
            ("dispatcher", "close", {}),
        ]
        seen_by_reporter = []
        for who, action, body in steps:
            response = http.post(
                f"/api/v1/cases/{case['id']}/{action}",
                json=body,
                headers=auth(tokens, who, **{"If-Match": str(case["version"])}),
            )
            assert response.status_code == 200, response.text
            case = response.json()
            mine = http.get("/api/v1/my/cases", headers=auth(tokens, "citizen")).json()
            seen_by_reporter.append(next(m for m in mine if m["id"] == case["id"])["status"])
        assert seen_by_reporter == ["acknowledged", "verified", "in_progress", "resolved", "closed"]
        history = http.get(
            f"/api/v1/cases/{case['id']}/history", headers=auth(tokens, "admin")
        ).json()
        assert [h["to"] for h in history] == [
            "reported",
            "routed",
            "acknowledged",
            "verified",
            "in_progress",
            "resolved",
            "closed",
        ]
        assert history[3]["position"] == {"lat": DEMO_LAT, "lon": DEMO_LON + 0.0001}
        photo = http.get(case["photos"][0]["url"], headers=auth(tokens, "officer"))
        assert photo.status_code == 200 and b"Exif" not in photo.content[:200]
    with city_store.sessions() as session:
        assert (
            session.scalar(select(RewardEntry).where(RewardEntry.case_id == case["id"])) is not None
        )
        assert (
            session.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case["id"])
            )
            == 7
        )


def test_fifty_concurrent_retries_create_one_case(live, city_store: Store) -> None:  # type: ignore[no-untyped-def]
    base, tokens, _ = live
    body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "illegal_parking", "description": "重试"}
    headers = auth(tokens, "citizen", **{"Idempotency-Key": "burst-1"})

    def submit(_: int) -> tuple[int, int]:
        with httpx.Client(base_url=base, timeout=60) as http:
            response = http.post("/api/v1/cases", json=body, headers=headers)
            return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(submit, range(50)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    assert len({cid for _, cid in results}) == 1
    with city_store.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Case).where(Case.description == "重试"))
            == 1
        )


def test_fifty_concurrent_reassignments_leave_one_winner(live, city_store: Store) -> None:  # type: ignore[no-untyped-def]
    base, tokens, _ = live
    with httpx.Client(base_url=base, timeout=60) as http:
        case = http.post(
            "/api/v1/cases",
            json={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"},
            headers=auth(tokens, "citizen"),
        ).json()
    with city_store.sessions() as session:  # two officers of the dispatcher's town
        officers = session.scalars(
            select(Person.code)
            .join(Assignment, Assignment.person_id == Person.id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(
                Assignment.role == "officer",
                Unit.code.startswith(case["routing"]["town"]["code"] + "-"),
            )
            .order_by(Person.code)
            .limit(2)
        ).all()

    def reassign(i: int) -> int:
        with httpx.Client(base_url=base, timeout=60) as http:
            return http.post(
                f"/api/v1/cases/{case['id']}/reassign",
                json={"officer": officers[i % 2], "note": f"dispatcher {i}"},
                headers=auth(tokens, "dispatcher", **{"If-Match": str(case["version"])}),
            ).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(reassign, range(50)))
    assert statuses.count(200) == 1 and statuses.count(409) == 49, statuses


def test_missed_deadline_escalates_after_a_restart(city_store: Store, tmp_path: Path) -> None:
    settings = live_settings(city_store, tmp_path, "restart")
    with serve(settings) as base:
        tokens = make_users(city_store, *_two_grids(base))
        case = httpx.post(
            f"{base}/api/v1/cases",
            json={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "emergency_incident"},
            headers=auth(tokens, "citizen"),
        ).json()
    # the service is down while the acknowledge deadline passes
    with city_store.transaction() as session:
        row = session.get(Case, case["id"])
        assert row is not None
        row.ack_due = row.next_due = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    restarted = settings.model_copy(update={"escalation_interval_s": 0.2})
    with serve(restarted) as base:
        deadline = time.monotonic() + 20
        while True:
            seen = httpx.get(
                f"{base}/api/v1/cases/{case['id']}", headers=auth(tokens, "admin")
            ).json()
            if seen["escalation_level"] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert seen["escalation_level"] == 1
    assert seen["routing"]["assignee"]["kind"] in ("grid_chief", "community")
    assert seen["deadlines"]["missed"] == ["acknowledge"]
    time.sleep(0.5)  # a second pass must not escalate the same deadline again
    with city_store.sessions() as session:
        row = session.get(Case, case["id"])
        assert row is not None and row.escalation_level == 1
        actions = session.scalars(
            select(CaseEvent.action).where(CaseEvent.case_id == case["id"])
        ).all()
    assert actions.count("escalate") == 1


def _two_grids(base: str) -> tuple[str, str]:
    """The demo point's grid and a grid of another town."""
    demo = httpx.get(f"{base}/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON}).json()
    grids = httpx.get(f"{base}/api/v1/grids").json()["features"]
    other = next(g["id"] for g in grids if not g["id"].startswith(demo["town"]["code"] + "-"))
    return demo["grid"]["code"], other
