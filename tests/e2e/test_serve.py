"""The two-step story of the README, for real: build the sample city, serve it over HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from grids.samples import DEMO_LAT, DEMO_LON
from tests.conftest import BACKENDS, make_store

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gridwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args], env=env, capture_output=True, text=True, timeout=600
    )


@contextmanager
def served(env: dict[str, str]) -> Iterator[tuple[str, httpx.Response]]:
    """``gridwatch serve`` in a process of its own: its base URL and its first /healthz answer
    (whatever the status: a store that is not initialised answers 503)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.3)
        yield base, health
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_build_and_serve_the_sample_city_over_http(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = make_store(backend, tmp_path, request)
    env = {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": store.url,
        "GRIDWATCH_DATA_DIR": str(tmp_path / "var"),
    }
    built = gridwatch(  # pinned: a city this small may have no open case of 南城 right now
        "samples", "build", "--scale", "0.05", "--out", str(tmp_path / "city"),
        "--as-of", "2026-11-15", env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "sample city ready" in built.stdout and "history until" in built.stdout
    token = re.search(r"dispatcher +dispatcher DG20 .*: (demo-\w+)", built.stdout)
    assert token, built.stdout
    accounts = gridwatch("samples", "accounts", env=env)
    assert accounts.returncode == 0 and token.group(1) in accounts.stdout
    cases = re.search(r"history until \S+: ([\d,]+) cases", built.stdout).group(1)  # type: ignore[union-attr]
    again = gridwatch("samples", "build", "--if-missing", env=env)
    assert "nothing to do" in again.stdout
    twice = gridwatch("samples", "build", "--scale", "0.05", env=env)
    assert twice.returncode == 2 and "--force` replaces it" in twice.stderr
    if backend == "sqlite":  # --force replaces the history, it never adds a second one
        forced = gridwatch(
            "samples", "build", "--scale", "0.05", "--force", "--out", str(tmp_path / "city"),
            "--as-of", "2026-11-15", env=env,
        )  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        replaced = re.search(r"history until \S+: ([\d,]+) cases", forced.stdout)
        assert replaced and int(replaced.group(1).replace(",", "")) < 2 * int(
            cases.replace(",", "")
        )

    with served(env) as (base, health):
        assert health.status_code == 200
        body = httpx.get(f"{base}/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON}).json()
        assert body["grid"]["code"] and body["town"]["name"] == "南城街道"
        assert body["officer"]["name"] and body["assignee"]["kind"] == "officer"
        bad = httpx.get(f"{base}/api/v1/locate", params={"lat": "nan", "lon": DEMO_LON})
        assert bad.status_code == 422
        queue = httpx.get(
            f"{base}/api/v1/cases",
            params={"status": ["routed", "acknowledged", "verified", "in_progress"]},
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert queue.status_code == 200 and queue.json()["total"] > 0  # the printed token


def test_serve_on_a_never_initialised_store_answers_503_until_init(tmp_path: Path) -> None:
    """`gridwatch serve` before `gridwatch init`: it starts, answers 503 in JSON saying what to
    run (the docs still load), creates no database file, and serves once init has run."""
    env = {**os.environ, "GRIDWATCH_DATA_DIR": str(tmp_path / "var")}
    env.pop("GRIDWATCH_DATABASE_URL", None)
    database = tmp_path / "var" / "gridwatch.db"
    with served(env) as (base, health):
        assert health.status_code == 503
        assert "run `gridwatch init`" in health.json()["detail"]
        assert str(database) in health.json()["detail"]
        assert httpx.get(f"{base}/docs").status_code == 200
        assert not database.exists()
        assert gridwatch("init", env=env).returncode == 0
        assert httpx.get(f"{base}/healthz").status_code == 200
