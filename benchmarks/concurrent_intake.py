"""Intake on the embedded SQLite store under concurrent clients: latency and throughput.

Run with ``.venv/bin/python benchmarks/concurrent_intake.py [--reports 320]``. It builds the
small sample city into a temporary SQLite store, serves it with ``gridwatch serve`` in a
process of its own, and lets 1, 4, 8, 16 and 32 clients (threads with their own
connection) submit ``--reports`` reports in all, each as fast as the answers come. It
does so twice: as gridwatch runs (the process's writers take turns on one lock,
``grids.db.write_lock``) and with that lock replaced by nothing, as before, where every
writer waits in SQLite's own lock (``BEGIN IMMEDIATE`` with its busy handler's backoff).
Prints a Markdown table of p50, p99 and max latency, throughput and failures per level,
and writes it to ``benchmarks/intake_results.md``. Reports are spread over the
categories and within about a kilometre of the demo point (a realistic mix: a few
possible duplicates, not thousands of open cases on one spot).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import httpx

from grids.accounts.users import create_user
from grids.db import make_engine, session_factory, transaction, upgrade_schema
from grids.samples import DEMO_LAT, DEMO_LON, build_sample_city
from grids.samples.load import load_sample_city

HERE = Path(__file__).resolve().parent
TAXONOMY = HERE.parent / "data_samples" / "taxonomy.toml"
LEVELS = (1, 4, 8, 16, 32)
CATEGORIES = [c["code"] for c in tomllib.loads(TAXONOMY.read_text())["category"]]
SERVE = (
    "import sys, contextlib, grids.db\n"
    "if sys.argv[1] == 'unserialised':\n"
    "    grids.db.write_lock = lambda engine: contextlib.nullcontext()\n"
    "sys.argv = ['gridwatch', 'serve', '--port', sys.argv[2]]\n"
    "from api.cli import main\n"
    "main()\n"
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path) -> tuple[str, str]:
    """A SQLite store with the small sample city and a reporter; (URL, token)."""
    url = f"sqlite:///{root / 'gridwatch.db'}"
    engine = make_engine(url)
    upgrade_schema(engine)
    build_sample_city(root / "city", scale=0.05)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        load_sample_city(session, root / "city", TAXONOMY)
    with transaction(sessions) as session:
        token = create_user(session, "bench", "reporter")[1]
    engine.dispose()
    return url, token


def serve(mode: str, url: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GRIDWATCH_DATABASE_URL": url,
        "GRIDWATCH_DATA_DIR": str(root / "var"),
        "GRIDWATCH_ESCALATION_INTERVAL_S": "0",
        "GRIDWATCH_WEBHOOK_INTERVAL_S": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, mode, str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("the service did not come up")
        time.sleep(0.3)


def run_level(base: str, token: str, clients: int, reports: int) -> dict[str, float]:
    """``clients`` threads submitting ``reports`` reports in all; latencies in seconds."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    per_client = max(1, reports // clients)

    def client(c: int) -> None:
        nonlocal failures
        headers = {"Authorization": f"Bearer {token}"}
        rng = random.Random(clients * 1000 + c)
        with httpx.Client(base_url=base, timeout=120, headers=headers) as http:
            for n in range(per_client):
                body = {
                    "lat": DEMO_LAT + rng.uniform(-0.008, 0.008),
                    "lon": DEMO_LON + rng.uniform(-0.008, 0.008),
                    "category": rng.choice(CATEGORIES),
                    "description": f"bench {clients}-{c}-{n}",
                }
                started = time.perf_counter()
                status = http.post("/api/v1/cases", json=body).status_code
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    failures += status != 201

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "throughput": len(ordered) / wall,
        "failures": failures,
        "count": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=320, help="reports per level")
    reports = parser.parse_args().reports
    rows = [
        "| writers | clients | reports | p50 ms | p99 ms | max ms | reports/s | failed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="gridwatch-bench-") as tmp:
        root = Path(tmp)
        url, token = prepare(root)
        for mode in ("serialised", "unserialised"):
            process, base = serve(mode, url, root)
            try:
                run_level(base, token, 4, 40)  # warm-up
                for clients in LEVELS:
                    r = run_level(base, token, clients, reports)
                    rows.append(
                        f"| {mode} | {clients} | {r['count']:.0f} | {r['p50'] * 1000:.0f} | "
                        f"{r['p99'] * 1000:.0f} | {r['max'] * 1000:.0f} | "
                        f"{r['throughput']:.1f} | {r['failures']:.0f} |"
                    )
                    print(rows[-1], flush=True)
            finally:
                process.terminate()
                process.wait(timeout=60)
    table = "\n".join(rows)
    print(table)
    (HERE / "intake_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
