"""What the fault-injection tests share: a throwaway PostgreSQL cluster they may stop, the
service in a process of its own they may kill, and a bounded intake load that records every
answer.

The cluster is made with the installed PostgreSQL's ``initdb`` and ``pg_ctl`` on a free port
and in a temporary directory: the shared server on 5432 is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from grids.samples import DEMO_LAT, DEMO_LON
from tests.e2e.test_serve import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Cluster:
    """A PostgreSQL cluster of the test's own (run as ``postgres`` when the test is root,
    since initdb refuses root), with PostGIS in its database ``gridwatch``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gridwatch-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        as_root = os.geteuid() == 0
        self._prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE gridwatch")
        with psycopg.connect(self.dsn("gridwatch"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, str(PG_BIN / tool), *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{tool}: {done.stdout}{done.stderr}"

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gridwatch"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        """As a crash would: no shutdown checkpoint, recovery from the WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                *self._prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self.root, ignore_errors=True)


class Service:
    """``gridwatch serve`` in a process of its own, which the test may kill."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, "service died"
            try:
                return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, "the service to answer /healthz")

    def kill(self) -> None:
        """``kill -9``: no shutdown of any kind."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@dataclass
class Answer:
    """One request of the load: when it started and ended, what came back."""

    key: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection refused or cut)
    json: bool = False
    retry_after: bool = False
    case_id: int | None = None


@dataclass
class Load:
    """``workers`` clients reporting one case after another, each with its own
    Idempotency-Key; a 503 is retried with the same key. Bounded by ``per_worker``."""

    base: str
    token: str
    workers: int = 4
    per_worker: int = 400
    photo: bytes | None = None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Load:
        for w in range(self.workers):
            thread = threading.Thread(target=self._worker, args=(w,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _worker(self, w: int) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            for n in range(self.per_worker):
                key = f"load-{self.tag}-{w}-{n}"
                while not self._stop.is_set():
                    answer = self._post(http, key)
                    with self._lock:
                        self.answers.append(answer)
                    if answer.status in (200, 201):
                        break
                    time.sleep(0.1)  # 503 or no answer: the same key again
                if self._stop.is_set():
                    return

    def _post(self, http: httpx.Client, key: str) -> Answer:
        report = {
            "lat": DEMO_LAT,
            "lon": DEMO_LON,
            "category": "garbage_piled",
            "description": key,
        }
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        started = time.monotonic()
        try:
            if self.photo is not None:
                response = http.post(
                    "/api/v1/cases",
                    data={"report": json.dumps(report)},
                    files=[("photos", ("p.jpg", self.photo, "image/jpeg"))],
                    headers=headers,
                )
            else:
                response = http.post("/api/v1/cases", json=report, headers=headers)
        except httpx.TransportError:
            return Answer(key, started, time.monotonic(), None)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        body: Any = response.json() if is_json else None
        return Answer(
            key,
            started,
            time.monotonic(),
            response.status_code,
            json=is_json,
            retry_after="retry-after" in response.headers,
            case_id=body.get("id") if isinstance(body, dict) else None,
        )

    def count(self, status: int, after: float = 0.0) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.status == status and a.started >= after)

    def created(self) -> dict[str, int]:
        """Idempotency-Key → case id of every report acknowledged (201, or a 200 replay)."""
        with self._lock:
            return {a.key: a.case_id for a in self.answers if a.status in (200, 201) and a.case_id}


def served_env(url: str, data_dir: Path, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": url,
        "GRIDWATCH_DATA_DIR": str(data_dir),
        "GRIDWATCH_SECRET_KEY": secret,
        "GRIDWATCH_ESCALATION_INTERVAL_S": "1",
        "GRIDWATCH_WEBHOOK_INTERVAL_S": "1",
    }


def cluster() -> Iterator[Cluster]:
    made = Cluster()
    try:
        yield made
    finally:
        made.remove()
