"""While the store cannot be reached: JSON 503 with Retry-After, /healthz says what is down,
locating answers from memory; and no error is ever a plain-text 500.

The store is made unreachable by pointing the app's sessions at a server that is not
there (PostgreSQL) or a file that cannot be opened (SQLite); the fault-injection tests
(tests/e2e/test_store_faults.py) stop a real server instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from grids.city.locator import LocatorCache
from grids.db import session_factory
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv

UNREACHABLE = {
    "postgis": "postgresql+psycopg://gridwatch@127.0.0.1:1/none?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-gridwatch-dir/gridwatch.db",
}


@pytest.fixture
def store_down(case_env: CaseEnv) -> Iterator[TestClient]:
    """The case environment's app, its store gone for the test's duration."""
    app: Any = case_env.client.app
    sessions = app.state.sessions
    dead = create_engine(UNREACHABLE[case_env.store.backend])
    app.state.sessions = session_factory(dead)
    try:
        yield case_env.client
    finally:
        app.state.sessions = sessions
        dead.dispose()


def test_an_unreachable_store_answers_json_503_with_retry_after(
    case_env: CaseEnv, store_down: TestClient
) -> None:
    report = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"}
    calls = [
        ("POST", "/api/v1/cases", {"json": report, "headers": case_env.headers("citizen")}),
        ("GET", "/api/v1/cases", {"headers": case_env.headers("dispatcher")}),
        ("GET", "/open311/v2/requests.json", {}),
        ("GET", "/open311/v2/services.json", {}),
    ]
    for method, path, kwargs in calls:
        response = store_down.request(method, path, **kwargs)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"] == "application/json", path
        assert int(response.headers["retry-after"]) > 0, path
        assert "cannot be reached" in response.json()["detail"], path
    health = store_down.get("/healthz")
    assert health.status_code == 503 and health.headers["retry-after"]
    assert health.json()["status"] == "degraded"
    assert health.json()["store"].startswith("unreachable")
    assert health.json()["locate"] == "ok"


def test_locating_answers_from_memory_while_the_store_is_down(
    case_env: CaseEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = case_env.client.app
    cache: LocatorCache = app.state.locators

    def no_store() -> int:
        raise OperationalError("SELECT revision", {}, ConnectionRefusedError("refused"))

    monkeypatch.setattr(cache, "_revision", no_store)
    monkeypatch.setattr(cache, "_checked", 0.0)  # the next request asks the store
    located = case_env.client.get("/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON})
    assert located.status_code == 200, located.text
    assert located.json()["grid"]["code"] == case_env.demo_grid


def test_an_unforeseen_error_is_a_json_500(case_env: CaseEnv) -> None:
    app: Any = case_env.client.app
    sessions = app.state.sessions

    def broken() -> Any:
        raise RuntimeError("a bug")

    app.state.sessions = broken
    try:
        response = case_env.client.get("/api/v1/cases", headers=case_env.headers("dispatcher"))
    finally:
        app.state.sessions = sessions
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert "a bug" not in response.text and response.json()["detail"]
