"""Load test: intake, locate, the queue and the event stream of a served sample city.

Run with ``make loadtest`` (or ``.venv/bin/python benchmarks/loadtest.py --help``). For each
target (SQLite with one process, PostgreSQL with one and with two processes) it builds the
sample city with its year of history into a fresh store (a temporary SQLite file, or a
database of its own on the local PostgreSQL that it drops afterwards), starts
``gridwatch serve`` on 127.0.0.1, and runs, from one asyncio client process:

- **closed loop**: 1, 8 and 32 clients, each submitting reports as fast as the answers
  come (10 % with a photo): the latency at each concurrency and the maximum sustainable
  intake rate (the 32 clients' throughput);
- **fixed rate**: a mix at a fixed arrival rate whatever the answers do (60 % intake,
  25 % locate, 15 % the dispatcher's queue) while four dispatchers of the demo town hold
  the event stream open: p50 and p99 per operation, and how long after its 201 a new
  case of their town reaches each of the four streams.

Every answer that is not the expected status counts as an error, and afterwards every
case the service acknowledged (201) must be in the store. Bounded in requests and in
time (``--requests``, ``--seconds``); it only ever talks to 127.0.0.1. Prints a Markdown
table and writes it to ``benchmarks/loadtest_results.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg
from PIL import Image
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grids.samples import DEMO_LAT, DEMO_LON  # noqa: E402
from grids.samples.accounts import demo_token  # noqa: E402

SECRET = "loadtest-secret"
GRIDWATCH = str(Path(sys.executable).with_name("gridwatch"))
CATEGORIES = [
    c["code"]
    for c in tomllib.loads((REPO / "data_samples" / "taxonomy.toml").read_text())["category"]
]
TARGETS = {"sqlite": ("sqlite", 1), "postgis-1": ("postgis", 1), "postgis-2": ("postgis", 2)}
UNSERIALISED = "sqlite-unserialised"
"""A target on request: SQLite with the process's writers racing for the file's lock in
SQLite's own busy handler, as before ``grids.db.write_lock`` made them take turns."""
UNSERIALISED_SERVE = (
    "import contextlib, sys, grids.db\n"
    "grids.db.write_lock = lambda engine: contextlib.nullcontext()\n"
    "from api.cli import main\n"
    "sys.argv[0] = 'gridwatch'\n"
    "main()\n"
)
PG_ADMIN = "host=/var/run/postgresql dbname=postgres"


@dataclass
class Tally:
    """Latencies (seconds) and errors of one operation in one scenario."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def row(self) -> tuple[str, str, str, int]:
        if not self.latencies:
            return "–", "–", "–", self.errors
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return (
            f"{statistics.median(ordered) * 1000:.0f}",
            f"{p99 * 1000:.0f}",
            f"{ordered[-1] * 1000:.0f}",
            self.errors,
        )


class Run:
    """One target's service and what its clients saw."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.reporter = {"Authorization": f"Bearer {demo_token(SECRET, 'reporter')}"}
        self.dispatcher = {"Authorization": f"Bearer {demo_token(SECRET, 'dispatcher')}"}
        self.acknowledged: set[int] = set()
        self.created_at: dict[int, float] = {}
        self.streamed_first: Counter[int] = Counter()  # on a stream before its 201 was read
        self.stream_lag: list[float] = []
        self.rng = random.Random(7)
        self.town: str | None = None  # the dispatchers', whose streams show its new cases
        self.seen_by_dispatchers = 0
        self.photo = _photo()

    async def intake(self, http: aiohttp.ClientSession, tally: Tally) -> None:
        body = {
            "lat": DEMO_LAT + self.rng.uniform(-0.02, 0.02),
            "lon": DEMO_LON + self.rng.uniform(-0.02, 0.02),
            "category": self.rng.choice(CATEGORIES),
            "description": "loadtest",
        }
        data: aiohttp.FormData | None = None
        if self.rng.random() < 0.1:
            data = aiohttp.FormData()
            data.add_field("report", json.dumps(body), content_type="application/json")
            data.add_field("photos", self.photo, filename="p.jpg", content_type="image/jpeg")
        started = time.perf_counter()
        kwargs = {"data": data} if data is not None else {"json": body}
        try:
            async with http.post("/api/v1/cases", headers=self.reporter, **kwargs) as answer:
                payload = await answer.json() if answer.status == 201 else None
        except aiohttp.ClientError:
            payload = None
        tally.latencies.append(time.perf_counter() - started)
        if payload is None:
            tally.errors += 1
            return
        case_id = int(payload["id"])
        self.acknowledged.add(case_id)
        if (payload["routing"].get("town") or {}).get("code") == self.town:
            self.seen_by_dispatchers += 1
        self.created_at[case_id] = time.perf_counter()
        early = self.streamed_first.pop(case_id, 0)  # events that raced ahead of the answer
        self.stream_lag.extend([0.0] * early)

    async def get(
        self, http: aiohttp.ClientSession, tally: Tally, path: str, headers: dict[str, str]
    ) -> None:
        started = time.perf_counter()
        try:
            async with http.get(path, headers=headers) as answer:
                await answer.read()
                ok = answer.status == 200
        except aiohttp.ClientError:
            ok = False
        tally.latencies.append(time.perf_counter() - started)
        tally.errors += not ok

    def locate_path(self) -> str:
        lat = DEMO_LAT + self.rng.uniform(-0.05, 0.05)
        lon = DEMO_LON + self.rng.uniform(-0.05, 0.05)
        return f"/api/v1/locate?lat={lat:.6f}&lon={lon:.6f}"

    async def listen(self, http: aiohttp.ClientSession, opened: asyncio.Event) -> None:
        """One dispatcher's event stream: when each new case arrives on it."""
        async with http.get(
            "/api/v1/events", headers={**self.dispatcher, "Accept": "text/event-stream"}
        ) as stream:
            opened.set()
            kind = ""
            async for raw in stream.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "case.created":
                    case_id = json.loads(line[5:]).get("case_id")
                    if case_id in self.created_at:
                        self.stream_lag.append(time.perf_counter() - self.created_at[case_id])
                    else:
                        self.streamed_first[case_id] += 1


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1280, 960), (120, 130, 140)).save(out, "JPEG", quality=80)
    return out.getvalue()


async def closed_loop(run: Run, clients: int, requests: int, seconds: float) -> tuple[Tally, float]:
    """``clients`` reporters submitting one after another: (tally, reports per second)."""
    tally = Tally()
    deadline = time.perf_counter() + seconds
    left = requests

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0 and time.perf_counter() < deadline:
            left -= 1
            await run.intake(http, tally)

    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(run.base, connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - started
    return tally, len(tally.latencies) / wall


async def fixed_rate(run: Run, rate: float, seconds: float) -> dict[str, Tally]:
    """A mix arriving at ``rate`` requests per second for ``seconds``, streams open."""
    tallies = {"intake": Tally(), "locate": Tally(), "queue": Tally()}
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=120, sock_read=None)
    async with aiohttp.ClientSession(run.base, connector=connector, timeout=timeout) as http:
        where = f"/api/v1/locate?lat={DEMO_LAT}&lon={DEMO_LON}"
        async with http.get(where, headers=run.reporter) as answer:
            run.town = (await answer.json())["town"]["code"]
        run.seen_by_dispatchers = 0
        opened = [asyncio.Event() for _ in range(4)]
        listeners = [asyncio.create_task(run.listen(http, o)) for o in opened]
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30)
        pending: list[asyncio.Task[None]] = []
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            pick = run.rng.random()
            if pick < 0.6:
                work = run.intake(http, tallies["intake"])
            elif pick < 0.85:
                work = run.get(http, tallies["locate"], run.locate_path(), run.reporter)
            else:
                path = "/api/v1/cases?status=routed&limit=50"
                work = run.get(http, tallies["queue"], path, run.dispatcher)
            pending.append(asyncio.create_task(work))
        await asyncio.gather(*pending)
        await asyncio.sleep(2)  # the last events reach the streams
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return tallies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def store(kind: str, root: Path) -> Iterator[str]:
    """A fresh store's URL: a SQLite file in ``root``, or a PostgreSQL database of its own."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'gridwatch.db'}"
        return
    name = f"gridwatch_load_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://@/{name}?host=/var/run/postgresql"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def environment(url: str, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": url,
        "GRIDWATCH_DATA_DIR": str(root / "var"),
        "GRIDWATCH_SECRET_KEY": SECRET,
    }


def build_city(url: str, root: Path, scale: float) -> None:
    env = environment(url, root)
    for command in (["init"], ["samples", "build", "--scale", str(scale)]):
        subprocess.run([GRIDWATCH, *command], env=env, check=True, stdout=subprocess.DEVNULL)


@contextlib.contextmanager
def served(url: str, root: Path, workers: int, *, unserialised: bool = False) -> Iterator[str]:
    port = free_port()
    program = [sys.executable, "-c", UNSERIALISED_SERVE] if unserialised else [GRIDWATCH]
    command = [*program, "serve", "--port", str(port), "--workers", str(workers)]
    log = (root / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(command, env=environment(url, root), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the service did not come up; see {log.name}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def in_store(url: str, ids: set[int]) -> int:
    """How many of ``ids`` the store holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = {row[0] for row in conn.execute(text("SELECT id FROM cases"))}
    finally:
        engine.dispose()
    return len(ids & found)


def run_target(name: str, args: argparse.Namespace, rows: list[str]) -> None:
    kind, workers = TARGETS.get(name, ("sqlite", 1))
    with (
        tempfile.TemporaryDirectory(prefix="gridwatch-load-") as tmp,
        store(kind, Path(tmp)) as url,
    ):
        root = Path(tmp)
        print(f"{name}: building the sample city (scale {args.scale})", flush=True)
        build_city(url, root, args.scale)
        with served(url, root, workers, unserialised=name == UNSERIALISED) as base:
            run = Run(base)
            asyncio.run(closed_loop(run, 4, 40, 60))  # warm-up: caches, connections
            for clients in args.clients:
                tally, rps = asyncio.run(closed_loop(run, clients, args.requests, args.seconds))
                p50, p99, worst, errors = tally.row()
                rows.append(
                    f"| {name} | intake, {clients} clients | {len(tally.latencies)} | "
                    f"{p50} | {p99} | {worst} | {rps:.1f} | {errors} |"
                )
                print(rows[-1], flush=True)
            for rate in args.rates:
                tallies = asyncio.run(fixed_rate(run, rate, args.seconds))
                for op, tally in tallies.items():
                    p50, p99, worst, errors = tally.row()
                    rows.append(
                        f"| {name} | {op} in a mix at {rate:g}/s | {len(tally.latencies)} | "
                        f"{p50} | {p99} | {worst} | {len(tally.latencies) / args.seconds:.1f} | "
                        f"{errors} |"
                    )
                    print(rows[-1], flush=True)
                made = run.seen_by_dispatchers
                p50, p99, worst, _ = Tally(run.stream_lag).row()
                rows.append(
                    f"| {name} | new case seen on 4 streams at {rate:g}/s | "
                    f"{len(run.stream_lag)} of {4 * made} | {p50} | {p99} | {worst} | – | – |"
                )
                print(rows[-1], flush=True)
                run.stream_lag.clear()
        kept = in_store(url, run.acknowledged)
        print(f"{name}: {kept} of {len(run.acknowledged)} acknowledged cases in the store")
        if kept != len(run.acknowledged):
            raise SystemExit(f"{name}: {len(run.acknowledged) - kept} acknowledged cases lost")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: .venv/bin/python benchmarks/loadtest.py --targets sqlite --rates 20",
    )
    parser.add_argument(
        "--targets",
        type=lambda s: s.split(","),
        default=list(TARGETS),
        help=f"comma-separated, of {[*TARGETS, UNSERIALISED]} (default: the first three)",
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 40.0])
    parser.add_argument("--requests", type=int, default=600, help="at most, per closed loop")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most, per scenario")
    parser.add_argument("--scale", type=float, default=0.05, help="of the sample city")
    args = parser.parse_args()
    unknown = set(args.targets) - {*TARGETS, UNSERIALISED}
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {[*TARGETS, UNSERIALISED]}")
    rows = [
        "| target | scenario | requests | p50 ms | p99 ms | max ms | per s | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in args.targets:
        run_target(name, args, rows)
    table = "\n".join(rows)
    print(table)
    (REPO / "benchmarks" / "loadtest_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
