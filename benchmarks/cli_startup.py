"""How fast ``gridwatch --help`` answers: the command line loads only typer and rich.

Run with ``.venv/bin/python benchmarks/cli_startup.py [--runs 10]``. It runs
``gridwatch --help`` (the console script of the virtualenv) ``--runs`` times
in fresh processes and prints a Markdown table of the best and median wall
times, next to the bare interpreter (``python -c pass``) and to importing what
the CLI used to load before parsing its arguments (the FastAPI app, with
SQLAlchemy, pandas and folium). The target is under 0.5 s on the project's
2-core machine; a busy machine makes every row slower, so the comparison
within one run is what counts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_S = 0.5


def timed(command: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` fresh runs of ``command`` (after one warm-up run)."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    rows = [
        ("`gridwatch --help`", [str(BIN / "gridwatch"), "--help"]),
        ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
        ("import api.app (what --help used to load)", [sys.executable, "-c", "import api.app"]),
    ]
    print(f"CLI start-up, {runs} runs each (wall time, fresh processes)\n")
    print("| what | best s | median s |")
    print("|---|---|---|")
    help_median = 0.0
    for label, command in rows:
        times = timed(command, runs)
        median = statistics.median(times)
        help_median = help_median or median
        print(f"| {label} | {min(times):.3f} | {median:.3f} |")
    verdict = "under" if help_median < TARGET_S else "OVER"
    print(f"\n`gridwatch --help` median {help_median:.3f} s: {verdict} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
