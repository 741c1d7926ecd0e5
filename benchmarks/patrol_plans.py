"""Patrol route plans: OR-Tools (``geo.patrol.plan.plan_routes``) against the greedy baseline.

Run with ``.venv/bin/python benchmarks/patrol_plans.py``. For 1 and 3 teams
over 50, 100 and 200 candidate stops (uniform in a 5 km × 5 km box around
Nancheng, Dongguan; prizes shaped like Gi* z-scores of hotspot cells, 1.6 to
6), plus 3 must-visit key points, 4-hour shifts from one patrol station,
12-minute dwell, 15 km/h with a detour factor of 1.3, it prints a Markdown
table: total prize, travel share (travel / (travel + dwell)), stops, solve
time, and the prize of a seeded plan (seed 1), which shows what the seed's
unpredictability costs. The greedy baseline goes, team by team in order of
their clocks, to the nearest must-visit point that still fits, then to the
stop with the best prize per second of travel and dwell.

It then checks the issue's requirement: with 3 teams and 100 candidates a plan
comes back in under 15 s of solver time with a prize above the greedy one.
The instances are seeded; the solver's time limit (default 10 s) usually
stops the search on the larger instances, so their figures can vary a little
from run to run and machine to machine.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geo.patrol.plan import (  # noqa: E402
    Candidate,
    MustVisit,
    Plan,
    Team,
    greedy_plan,
    plan_routes,
)

CENTRE = (23.02, 113.75)
HALF_SIDE_M = 2500.0
SHIFT_MINUTES = 240
SIZES = (50, 100, 200)
TEAM_COUNTS = (1, 3)


def instance(
    n: int, n_teams: int, seed: int
) -> tuple[list[Candidate], list[MustVisit], list[Team]]:
    """``n`` hotspot candidates and 3 key points in the box; teams leave from the centre."""
    rng = np.random.default_rng(seed)
    dlat = HALF_SIDE_M / 111_195.0
    dlon = dlat / np.cos(np.radians(CENTRE[0]))
    lat = CENTRE[0] + rng.uniform(-dlat, dlat, n)
    lon = CENTRE[1] + rng.uniform(-dlon, dlon, n)
    # Gi* z-scores of significant hot cells: most just above 1.96, a few far higher
    prize = np.round(np.minimum(6.0, 1.6 + rng.exponential(1.1, n)), 3)
    candidates = [
        Candidate(f"cell-{i:03d}", float(lat[i]), float(lon[i]), float(prize[i])) for i in range(n)
    ]
    musts = [
        MustVisit(
            f"key-{j}",
            name,
            float(CENTRE[0] + rng.uniform(-dlat, dlat)),
            float(CENTRE[1] + rng.uniform(-dlon, dlon)),
        )
        for j, name in enumerate(("警民联防点 1", "重点点位 2", "治安岗亭 3"))
    ]
    start = datetime(2024, 5, 1, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    teams = [Team(f"team-{k + 1}", *CENTRE, start, SHIFT_MINUTES) for k in range(n_teams)]
    return candidates, musts, teams


def travel_share(plan: Plan) -> float:
    total = plan.travel_s + plan.dwell_s
    return plan.travel_s / total if total else 0.0


def n_stops(plan: Plan) -> int:
    return sum(len(r.stops) for r in plan.teams)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0, help="solver seconds per plan")
    parser.add_argument("--no-seeded", action="store_true", help="skip the seeded plans")
    args = parser.parse_args()

    header = (
        "| teams | candidates | greedy prize | OR-Tools prize | gain | seeded prize "
        "| travel share greedy / OR-Tools | stops greedy / OR-Tools "
        "| solve s greedy / OR-Tools | must-visit dropped greedy / OR-Tools |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    verdict: tuple[float, float, float] | None = None
    for n_teams in TEAM_COUNTS:
        for n in SIZES:
            cands, musts, teams = instance(n, n_teams, seed=1000 * n_teams + n)
            greedy = greedy_plan(cands, musts, teams)
            plan = plan_routes(cands, musts, teams, time_limit_s=args.time_limit)
            seeded = (
                None
                if args.no_seeded
                else plan_routes(cands, musts, teams, seed=1, time_limit_s=args.time_limit)
            )
            gain = plan.total_prize / greedy.total_prize - 1.0
            seeded_cell = (
                "–"
                if seeded is None
                else f"{seeded.total_prize:.2f} ({seeded.total_prize / plan.total_prize:.1%})"
            )
            print(
                f"| {n_teams} | {n} | {greedy.total_prize:.2f} | {plan.total_prize:.2f} "
                f"| {gain:+.1%} | {seeded_cell} "
                f"| {travel_share(greedy):.1%} / {travel_share(plan):.1%} "
                f"| {n_stops(greedy)} / {n_stops(plan)} "
                f"| {greedy.solve_seconds:.3f} / {plan.solve_seconds:.2f}"
                f"{' (time limit)' if plan.timed_out else ''} "
                f"| {len(greedy.dropped_must)} / {len(plan.dropped_must)} |"
            )
            if (n_teams, n) == (3, 100):
                verdict = (plan.solve_seconds, plan.total_prize, greedy.total_prize)

    assert verdict is not None
    seconds, prize, greedy_prize = verdict
    ok = seconds < 15.0 and prize > greedy_prize
    print()
    print(
        f"Requirement (3 teams, 100 candidates): solver {seconds:.2f} s < 15 s and prize "
        f"{prize:.2f} > greedy {greedy_prize:.2f}: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
