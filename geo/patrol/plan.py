"""Patrol route plans: a prize-collecting team orienteering problem solved with OR-Tools.

Patrol leaders want each shift to spend its time where it deters most: at the
hotspots (a prize per stop, e.g. the Gi* z-score of a cell) and at the key
points that must be visited every shift. Each stop costs its dwell time (the
Koper curve: 10-15 minutes deter far longer than a drive-by), travel costs
time at a walking/cycling speed with a detour factor over the great-circle
distance, and each team's route start → stops → end must fit in its shift.

Objective, lexicographic: every feasible must-visit point first, then the
largest total prize, then the shortest total travel. It is solved as one
weighted sum (see :func:`plan_routes`):

- a candidate left out costs ``round(prize × PRIZE_SCALE) × big`` with
  ``big = Σ shift seconds + 1``, larger than any total travel, so one prize
  unit (0.001 of a prize) always outweighs any saving in travel;
- a must-visit point left out costs more than all candidate prizes together;
- each arc costs its travel seconds.

Prizes are compared at a precision of ``1 / PRIZE_SCALE`` = 0.001: two plans
whose prizes differ by less than that may be ranked by travel instead.

Pure computation: numpy and OR-Tools only, no database, web or settings. This
module is the entry point and the greedy baseline; the rest is split by concern,
and every public name is importable from here: :mod:`geo.patrol.types` (the
inputs and outputs), :mod:`geo.patrol.travel` (travel times),
:mod:`geo.patrol.problem` (input checks, node numbering, routes back into a
plan) and :mod:`geo.patrol.search` (the OR-Tools search).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from geo.patrol.problem import Problem, build_plan, prepare
from geo.patrol.search import PRIZE_SCALE, search_routes
from geo.patrol.travel import EARTH_RADIUS_M, haversine_m, travel_matrix, travel_seconds
from geo.patrol.types import Candidate, MustVisit, Plan, PlannedStop, Team, TeamRoute

__all__ = [
    "DEFAULT_DETOUR",
    "DEFAULT_DWELL_MINUTES",
    "DEFAULT_JITTER",
    "DEFAULT_SPEED_KMH",
    "DEFAULT_TIME_LIMIT_S",
    "EARTH_RADIUS_M",
    "PRIZE_SCALE",
    "Candidate",
    "MustVisit",
    "Plan",
    "PlannedStop",
    "Team",
    "TeamRoute",
    "greedy_plan",
    "haversine_m",
    "plan_routes",
    "travel_matrix",
    "travel_seconds",
]

DEFAULT_DWELL_MINUTES = 12.0
DEFAULT_SPEED_KMH = 15.0
DEFAULT_DETOUR = 1.3
DEFAULT_TIME_LIMIT_S = 10.0
DEFAULT_JITTER = 0.1
"""Relative prize noise of a seeded plan (see :func:`plan_routes`): a guaranteed bound of
(1-j)/(1+j) ≈ 82 % of the best prize for exact solutions; about 1 % less prize in practice."""


def plan_routes(
    candidates: Sequence[Candidate],
    must_visit: Sequence[MustVisit],
    teams: Sequence[Team],
    *,
    dwell_minutes: float = DEFAULT_DWELL_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
    seed: int | None = None,
    jitter: float = DEFAULT_JITTER,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    iterations: int | None = None,
) -> Plan:
    """Plan the routes that collect the most prize in the shifts, must-visit points first.

    The model is an OR-Tools routing model: one vehicle per team, a time
    dimension (travel from a stop plus its dwell) capped by each shift, an
    optional disjunction per stop whose penalty is its scaled prize (see the
    module docstring), must-visit points with a penalty above all prizes
    together, and arc costs in travel seconds. Stops no team could reach even
    alone are left out of the model and reported (must-visit points by name,
    with the reason).

    Search, an iterated local search around OR-Tools: a first plan by greedy
    insertion (must-visit points first, then the best prize per added second,
    :meth:`~geo.patrol.search.RoutingSearch.insert`) is improved by an OR-Tools descent (routing
    and orienteering moves, no metaheuristic); then each round ruins and
    recreates the current plan (:meth:`~geo.patrol.search.RoutingSearch.perturb`) and descends
    again, accepting a worse plan with a simulated-annealing probability
    (temperature from half an average candidate penalty down to a thousandth
    of it), and the best plan is kept. OR-Tools' own metaheuristics are not
    used: guided local search penalises arcs in travel seconds and so never
    gives up prize to escape a local optimum, and on small instances it
    missed the optimum prize in about one case in six where this loop finds
    it every time (see the tests). The search stops after ``iterations``
    rounds (default ``150 + 5 × stops``), after ``100 + 5 × stops`` rounds
    without a better plan, or at ``time_limit_s`` (model building included),
    whichever comes first. Everything is single-threaded and seeded, so the
    plan is the same for the same input and seed as long as a round limit
    stops the search (small instances: well under a second); when the
    wall-clock limit stops it (large instances, a slow or busy machine), the
    plan may differ from run to run (``Plan.timed_out`` says so). The optimum
    is not proven.

    ``seed``: ``None`` solves for the best prize. With a seed, each candidate's
    prize is multiplied by a seeded factor in ``[1 - jitter, 1 + jitter]``
    before solving, the search uses that seed and, for round trips, each
    route's direction is drawn at random (the travel is the same both ways).
    Another seed thus gives another plan (other stops, another order), so
    patrols are not predictable, of nearly the same prize: if solved exactly,
    at least ``(1 - jitter) / (1 + jitter)`` of the best (82 % at the default
    10 %, a loose bound); on the test and benchmark instances seeded plans
    lose about 1 % (see ``benchmarks/patrol_plans.py``). The plan reports true
    prizes.
    """
    p = prepare(
        candidates,
        must_visit,
        teams,
        dwell_minutes=dwell_minutes,
        speed_kmh=speed_kmh,
        detour=detour,
    )
    found = search_routes(
        p, seed=seed, jitter=jitter, time_limit_s=time_limit_s, iterations=iterations
    )
    return build_plan(
        p,
        found.routes,
        solve_seconds=found.seconds,
        method="ortools",
        seed=seed,
        rounds=found.rounds,
        timed_out=found.timed_out,
    )


# --------------------------------------------------------------------------- greedy baseline


def greedy_plan(
    candidates: Sequence[Candidate],
    must_visit: Sequence[MustVisit],
    teams: Sequence[Team],
    *,
    dwell_minutes: float = DEFAULT_DWELL_MINUTES,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
    seed: int | None = None,
    jitter: float = DEFAULT_JITTER,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    iterations: int | None = None,
) -> Plan:
    """The baseline a planner would write by hand, to measure the solver against.

    Teams move in turn, the one with the earliest clock first. A team goes to
    the nearest unvisited must-visit point it can still fit (visit, dwell and
    get to its end in the shift) while there is one; then to the feasible
    unvisited candidate with the best ``prize / (travel + dwell)`` ratio
    (ties: the nearer, then the input order); it stops when nothing fits.
    Deterministic; ``seed``, ``jitter``, ``time_limit_s`` and
    ``iterations`` are accepted for a common signature and ignored.
    """
    del seed, jitter, time_limit_s, iterations
    p = prepare(
        candidates,
        must_visit,
        teams,
        dwell_minutes=dwell_minutes,
        speed_kmh=speed_kmh,
        detour=detour,
    )
    started = time.perf_counter()
    routes = _greedy_routes(p)
    return build_plan(
        p, routes, solve_seconds=time.perf_counter() - started, method="greedy", seed=None
    )


def _greedy_routes(p: Problem) -> list[list[int]]:
    """The routes of :func:`greedy_plan`: stop indices of ``p``, per team."""
    n_t, n_must = p.n_teams, len(p.must)
    stop_nodes = 2 * n_t + np.arange(p.n_stops)
    prize = np.array([p.stop_prize(k) for k in range(p.n_stops)], dtype=np.float64)
    is_must = np.arange(p.n_stops) < n_must
    unvisited = np.ones(p.n_stops, dtype=bool)
    clock = [0] * n_t
    at = [p.start_node(t) for t in range(n_t)]
    active = [True] * n_t
    routes: list[list[int]] = [[] for _ in range(n_t)]
    while any(active):
        t = min((t for t in range(n_t) if active[t]), key=lambda t: (clock[t], t))
        leg = p.travel[at[t], stop_nodes]
        back = p.travel[stop_nodes, p.end_node(t)]
        fits = unvisited & (clock[t] + leg + p.dwell_s + back <= p.shift_s[t])
        if not fits.any():
            active[t] = False
            continue
        musts = fits & is_must
        if musts.any():
            k = int(np.flatnonzero(musts)[np.argmin(leg[musts])])
        else:
            ratio = prize / (leg + p.dwell_s).clip(min=1)
            order = np.lexsort((np.arange(p.n_stops), leg, -ratio))
            k = int(order[fits[order]][0])
        routes[t].append(k)
        unvisited[k] = False
        clock[t] += int(leg[k]) + p.dwell_s
        at[t] = int(stop_nodes[k])
    return routes
