"""Where one intake's time goes: a sampling profile of ``gridwatch serve`` under intake load.

Run with ``.venv/bin/python benchmarks/intake_profile.py [--target sqlite|postgis-1]``
(py-spy needs to attach to the service: root, or ptrace allowed). It builds the small
sample city into a fresh store as ``benchmarks/loadtest.py`` does, serves it, lets 8
clients submit reports for ``--seconds`` while py-spy samples the service, and attributes
each sample of a busy thread to the innermost stage of intake it lies in (below); waiting
(for the event loop, a lock, the network) is left out. Prints a Markdown table of the
stages' shares of the service's CPU, with the CPU milliseconds per report measured from
the process's own clock, and writes it to ``benchmarks/intake_profile_TARGET.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

import loadtest  # noqa: E402

PY_SPY = str(Path(sys.executable).with_name("py-spy"))
COMMIT = ("Session.commit", "SessionTransaction.commit", "_GeneratorContextManager.__exit__")
STAGES: list[tuple[str, tuple[str, ...]]] = [
    # (stage, function names): a sample goes to the innermost frame that names a stage
    ("routing: the cell map and the rosters", ("GridLocator.route",)),
    ("possible duplicates nearby", ("nearby_open_cases",)),
    ("the building it was reported at", ("link_case",)),
    ("the reporter's pseudonymous identity", ("reporter_for",)),
    ("live event for the streams", ("publish",)),
    ("webhook deliveries queued", ("enqueue",)),
    ("commit", COMMIT),
    ("the case and its audit rows (ORM, INSERT)", ("create_case",)),
    ("the answer: the case as the API shows it", ("case_view",)),
    ("the answer: JSON", ("serialize_response", "jsonable_encoder", "JSONResponse.render")),
    ("who is asking: the token", ("current_user",)),
    ("the body: reading and validation", ("_read_report",)),
    ("photos: checks and files", ("store_all", "PhotoStore")),
]
IDLE = ("Condition.wait", "EpollSelector.select", "select (selectors", "TurnLock.__enter__")
FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*):(?P<line>\d+)\)$")


def stage_of(frames: list[str]) -> str | None:
    """The stage of one sampled stack (outermost first), or None for a waiting thread."""
    names = [m.group("name") if (m := FRAME.match(f.strip())) else f for f in frames]
    if any(idle in frames[-1] or idle in names[-1] for idle in IDLE):
        return None
    if "run_forever" in names[-1] or names[-1].startswith("Runner.run"):
        return None  # the event loop waiting for work
    for name in reversed(names):
        for stage, functions in STAGES:
            if name in functions:
                return stage
    return "the HTTP server and framework (uvicorn, Starlette, FastAPI, middleware)"


def shares(raw: Path) -> Counter[str]:
    """Busy samples per stage from py-spy's raw (collapsed stack) output."""
    counts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        stage = stage_of(stack.split(";"))
        if stage is not None:
            counts[stage] += int(n)
    return counts


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=["sqlite", "postgis-1"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw samples in this file")
    args = parser.parse_args()
    kind = loadtest.TARGETS[args.target][0]
    with (
        tempfile.TemporaryDirectory(prefix="gridwatch-profile-") as tmp,
        loadtest.store(kind, Path(tmp)) as url,
    ):
        root = Path(tmp)
        loadtest.build_city(url, root, 0.05)
        with loadtest.served(url, root, 1) as base:
            run = loadtest.Run(base)
            asyncio.run(loadtest.closed_loop(run, 4, 40, 60))  # warm-up
            port = base.rsplit(":", 1)[1]
            pid = int(subprocess.check_output(["pgrep", "-f", f"serve --port {port}"]).split()[0])
            raw = root / "profile.txt"
            spy = subprocess.Popen(
                [
                    *(PY_SPY, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"),
                    *("--duration", str(int(args.seconds) + 2), "--output", str(raw)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            before = cpu_seconds(pid)
            tally, rate = asyncio.run(loadtest.closed_loop(run, 8, 1_000_000, args.seconds))
            cpu = cpu_seconds(pid) - before
            spy.wait(timeout=120)
            counts = shares(raw)
            if args.keep:
                args.keep.write_bytes(raw.read_bytes())
    reports = len(tally.latencies)
    total = sum(counts.values())
    rows = [
        f"{args.target}: {reports} reports by 8 clients at {rate:.1f}/s, "
        f"{cpu * 1000 / max(reports, 1):.1f} ms of the service's CPU each",
        "",
        "| stage | share of the service's CPU | ms per report |",
        "|---|---|---|",
    ]
    for stage, n in counts.most_common():
        ms = cpu * 1000 / max(reports, 1) * n / total
        rows.append(f"| {stage} | {100 * n / total:.0f} % | {ms:.1f} |")
    table = "\n".join(rows)
    print(table)
    (REPO / "benchmarks" / f"intake_profile_{args.target}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
