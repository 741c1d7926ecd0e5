"""The OR-Tools search behind :func:`geo.patrol.plan.plan_routes`.

An iterated local search around OR-Tools: a greedy first plan, OR-Tools
descents (routing and orienteering moves, no metaheuristic), and rounds of
ruin and recreate accepted with a simulated-annealing probability. The
objective's weights (prize before travel, must-visit points before prize) are
explained in :mod:`geo.patrol.plan`; :func:`search_routes` is the entry point.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_FALSE, BOOL_TRUE

from geo.errors import GeoInputError
from geo.patrol.problem import Problem
from geo.patrol.travel import IntArray

__all__ = ["PRIZE_SCALE", "Search", "search_routes"]

PRIZE_SCALE = 1000
"""Prizes are rounded to integers at this scale (precision 0.001) for the solver."""

_INT64_SAFE = 2**62
_ROUNDS = (150, 5)  # default rounds of the search: 150 + 5 per stop
_PATIENCE = (100, 5)  # stop after 100 + 5 per stop rounds without a better plan


@dataclass(frozen=True)
class Search:
    """What :func:`search_routes` found: the best routes (stop indices of the problem, per
    team), the ruin-and-recreate rounds run, whether the time limit stopped them, and the
    seconds it took."""

    routes: list[list[int]]
    rounds: int
    timed_out: bool
    seconds: float


def _check_options(
    *, seed: int | None, jitter: float, time_limit_s: float, iterations: int | None
) -> None:
    if not (isinstance(time_limit_s, int | float) and math.isfinite(time_limit_s)):
        raise GeoInputError(f"time_limit_s must be a number of seconds, got {time_limit_s!r}.")
    if time_limit_s <= 0:
        raise GeoInputError(f"time_limit_s must be positive, got {time_limit_s!r}.")
    if not (isinstance(jitter, int | float) and 0 <= jitter < 0.5):
        raise GeoInputError(f"jitter must be in [0, 0.5), got {jitter!r}; 0.1 is the default.")
    if iterations is not None and (not isinstance(iterations, int) or iterations < 0):
        raise GeoInputError(f"iterations must be an integer ≥ 0, got {iterations!r}.")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise GeoInputError(f"seed must be an integer ≥ 0 or None, got {seed!r}.")


def search_routes(
    p: Problem, *, seed: int | None, jitter: float, time_limit_s: float, iterations: int | None
) -> Search:
    """Check the search options, then search (see :func:`geo.patrol.plan.plan_routes`)."""
    _check_options(seed=seed, jitter=jitter, time_limit_s=time_limit_s, iterations=iterations)
    started = time.perf_counter()
    deadline = started + time_limit_s
    rng = np.random.default_rng([1, seed] if seed is not None else [0])

    stops = [k for k in range(p.n_stops) if p.reachable[:, k].any()]
    prizes = np.array([p.stop_prize(k) for k in stops], dtype=np.float64)
    if seed is not None and jitter > 0:
        prizes = prizes * (1.0 + jitter * rng.uniform(-1.0, 1.0, size=prizes.size))
    if prizes.size and float(prizes.max()) * PRIZE_SCALE >= _INT64_SAFE:  # before astype wraps
        raise GeoInputError(
            f"prize {float(prizes.max()):g} is too large to be scaled for the solver; "
            "divide all prizes by a common factor (only their ratios matter)."
        )
    prize_int = np.rint(prizes * PRIZE_SCALE).astype(np.int64)
    search = RoutingSearch(p, stops, prize_int)

    max_rounds = iterations if iterations is not None else _ROUNDS[0] + _ROUNDS[1] * len(stops)
    if all(k < len(p.must) for k in stops):
        max_rounds = 0  # nothing to ruin: the loop only ever removes candidates
    patience = _PATIENCE[0] + _PATIENCE[1] * len(stops)
    empty: list[list[int]] = [[] for _ in p.teams]
    current = search.descend(search.insert(empty, set(), None), deadline - time.perf_counter())
    if current is None:  # OR-Tools refused the greedy start: let it build its own
        current = search.descend(None, max(0.001, deadline - time.perf_counter()))
    if current is None:  # cannot happen (every stop is optional), but never crash on it
        current = empty
    current_obj = best_obj = search.objective(current)
    best = current
    t0 = 0.5 * search.mean_cand_pen
    rounds = last_better = 0
    timed_out = False
    while rounds < max_rounds and rounds - last_better <= patience:
        left = deadline - time.perf_counter()
        if left <= 0:
            timed_out = True
            break
        temperature = t0 * 1e-3 ** (rounds / max(1, max_rounds - 1))
        rounds += 1
        candidate = search.descend(search.perturb(current, rng), left)
        if candidate is None:
            continue
        obj = search.objective(candidate)
        delta = obj - current_obj
        if delta <= 0 or rng.random() < math.exp(-delta / temperature):
            current, current_obj = candidate, obj
        if obj < best_obj:
            best, best_obj, last_better = candidate, obj, rounds
    solve_seconds = time.perf_counter() - started

    first = 2 * p.n_teams
    routes: list[list[int]] = []
    for t, route in enumerate(best):
        ks = [stops[n - first] for n in route]
        team = p.teams[t]
        round_trip = team.end == (team.start_lat, team.start_lon)
        if seed is not None and round_trip and rng.random() < 0.5:
            ks.reverse()
        routes.append(ks)
    return Search(routes=routes, rounds=rounds, timed_out=timed_out, seconds=solve_seconds)


class RoutingSearch:
    """The OR-Tools routing model of one problem and the moves of :func:`search_routes`.

    Model nodes: ``0 .. T-1`` the team starts, ``T .. 2T-1`` the team ends,
    then one node per stop in ``stops`` order. Routes are lists of model nodes.
    """

    def __init__(self, p: Problem, stops: list[int], prize_int: IntArray) -> None:
        self.p = p
        self.n_t = n_t = p.n_teams
        self.stops = stops
        n_must = len(p.must)
        nodes = [p.start_node(t) for t in range(n_t)] + [p.end_node(t) for t in range(n_t)]
        nodes += [p.stop_node(k) for k in stops]
        self.n_nodes = len(nodes)
        self.travel: IntArray = p.travel[np.ix_(nodes, nodes)]
        dwell = np.zeros(len(nodes), dtype=np.int64)
        dwell[2 * n_t :] = p.dwell_s
        self.time: IntArray = self.travel + dwell[:, None]
        self.shift = list(p.shift_s)

        # lexicographic weights: see the docstring of geo.patrol.plan
        self.big = int(sum(p.shift_s)) + 1
        cand_pen = [int(v) * self.big for v, k in zip(prize_int, stops, strict=True) if k >= n_must]
        self.must_pen = sum(cand_pen) + self.big
        if self.must_pen * (n_must + 1) >= _INT64_SAFE:
            raise GeoInputError(
                "prizes are too large to be scaled exactly for the solver "
                f"(their sum × {PRIZE_SCALE} × {self.big} s overflows 64-bit integers); "
                "divide all prizes by a common factor (only their ratios matter)."
            )
        self.penalty = [0] * len(nodes)
        self.is_must = [False] * len(nodes)
        for i, k in enumerate(stops):
            node = 2 * n_t + i
            self.is_must[node] = k < n_must
            self.penalty[node] = self.must_pen if k < n_must else int(prize_int[i]) * self.big
        self.mean_cand_pen = float(np.mean(cand_pen)) if cand_pen else 1.0
        self.allowed = [[t for t in range(n_t) if p.reachable[t, k]] for k in stops]
        self.allowed_mask = np.ones((n_t, len(nodes)), dtype=bool)
        self.allowed_mask[:, 2 * n_t :] = p.reachable[:, stops]
        self.is_must_a = np.array(self.is_must, dtype=bool)
        self.prize_a = np.zeros(len(nodes), dtype=np.float64)
        self.prize_a[2 * n_t :] = np.where(self.is_must_a[2 * n_t :], 0, prize_int)

        self.manager = pywrapcp.RoutingIndexManager(
            len(nodes), n_t, list(range(n_t)), list(range(n_t, 2 * n_t))
        )
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        cost_cb = routing.RegisterTransitMatrix(self.travel.tolist())
        time_cb = routing.RegisterTransitMatrix(self.time.tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
        routing.AddDimensionWithVehicleCapacity(time_cb, 0, self.shift, True, "time")
        for i in range(len(stops)):
            node = 2 * n_t + i
            index = self.manager.NodeToIndex(node)
            routing.AddDisjunction([index], self.penalty[node])
            barred = [t for t in range(n_t) if t not in self.allowed[i]]
            if barred:  # SetAllowedVehiclesForIndex rejects Python lists in OR-Tools 9.15
                routing.VehicleVar(index).RemoveValues(barred)
        self.params = _descent_parameters()
        routing.CloseModelWithParameters(self.params)

    def objective(self, routes: list[list[int]]) -> int:
        """The solver's objective of ``routes``: travel plus the penalties of all stops left out."""
        total = sum(self.penalty)
        for t, route in enumerate(routes):
            seq = [t, *route, self.n_t + t]
            total += int(self.travel[seq[:-1], seq[1:]].sum())
            total -= sum(self.penalty[n] for n in route)
        return total

    def route_time(self, t: int, route: list[int]) -> int:
        seq = [t, *route, self.n_t + t]
        return int(self.time[seq[:-1], seq[1:]].sum())

    def descend(self, routes: list[list[int]] | None, seconds: float) -> list[list[int]] | None:
        """Local search by OR-Tools to a local optimum, from ``routes`` or from scratch."""
        self.params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
        routing, manager = self.routing, self.manager
        if routes is None:
            solution = routing.SolveWithParameters(self.params)
        else:
            start = routing.ReadAssignmentFromRoutes(
                [[manager.NodeToIndex(n) for n in r] for r in routes], True
            )
            if start is None:
                return None
            solution = routing.SolveFromAssignmentWithParameters(start, self.params)
        if routing.status() == routing_enums_pb2.RoutingSearchStatus.ROUTING_INVALID:
            raise RuntimeError("OR-Tools rejected the routing model or its parameters (a bug)")
        if solution is None:
            return None
        out: list[list[int]] = []
        for t in range(self.n_t):
            route: list[int] = []
            index = solution.Value(routing.NextVar(routing.Start(t)))
            while not routing.IsEnd(index):
                route.append(manager.IndexToNode(index))
                index = solution.Value(routing.NextVar(index))
            out.append(route)
        return out

    def insert(
        self, routes: list[list[int]], exclude: set[int], rng: np.random.Generator | None
    ) -> list[list[int]]:
        """Greedy insertion: must-visit points first, then the best prize per added second.

        Each step inserts, at its cheapest feasible place, the must-visit point
        that adds the least time or, once none fits, the candidate with the
        best ``prize / added seconds`` (scores jittered by ±20 % when ``rng``
        is given, for the ruin-and-recreate loop); it stops when nothing fits.
        Stops in ``exclude`` are not inserted.
        """
        routes = [list(r) for r in routes]
        on_route = {n for r in routes for n in r}
        first = 2 * self.n_t
        pending = np.array(
            [n for n in range(first, self.n_nodes) if n not in on_route and n not in exclude],
            dtype=np.int64,
        )
        pending = pending[self.is_must_a[pending] | (self.prize_a[pending] > 0)]
        loads = [self.route_time(t, r) for t, r in enumerate(routes)]
        noise = (
            rng.uniform(0.8, 1.2, size=self.n_nodes) if rng is not None else np.ones(self.n_nodes)
        )
        while pending.size:
            best_delta = np.full(pending.size, np.iinfo(np.int64).max, dtype=np.int64)
            best_team = np.full(pending.size, -1, dtype=np.int64)
            best_pos = np.zeros(pending.size, dtype=np.int64)
            for t in range(self.n_t):
                seq = np.array([t, *routes[t], self.n_t + t], dtype=np.int64)
                a, b = seq[:-1, None], seq[1:, None]
                delta = self.time[a, pending[None, :]] + self.time[pending[None, :], b]
                delta = delta - self.time[a, b]
                delta = np.where(loads[t] + delta <= self.shift[t], delta, np.iinfo(np.int64).max)
                delta[:, ~self.allowed_mask[t, pending]] = np.iinfo(np.int64).max
                pos = np.argmin(delta, axis=0)
                d = delta[pos, np.arange(pending.size)]
                better = d < best_delta
                best_delta[better] = d[better]
                best_team[better] = t
                best_pos[better] = pos[better]
            fits = best_team >= 0
            if not fits.any():
                break
            musts = fits & self.is_must_a[pending]
            if musts.any():
                j = int(np.flatnonzero(musts)[np.argmin(best_delta[musts])])
            else:
                score = np.where(
                    fits,
                    self.prize_a[pending] * noise[pending] / np.maximum(best_delta, 1),
                    -1.0,
                )
                j = int(np.argmax(score))
            t = int(best_team[j])
            routes[t].insert(int(best_pos[j]), int(pending[j]))
            loads[t] += int(best_delta[j])
            pending = np.delete(pending, j)
        return routes

    def perturb(self, routes: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
        """Ruin and recreate: drop a few visits, then insert other stops where they fit.

        The ruin removes 1 to 4 candidate visits (at random, or a seed visit and
        its nearest visited neighbours); the recreate is :meth:`insert` with
        jittered scores, without the stops just removed (the local search that
        follows may put them back). Must-visit points are never removed.
        """
        visited = [n for r in routes for n in r if not self.is_must[n]]
        removed: set[int] = set()
        if visited:
            k = int(rng.integers(1, min(4, len(visited)) + 1))
            if rng.random() < 0.5:
                removed = {visited[i] for i in rng.choice(len(visited), size=k, replace=False)}
            else:
                seed_node = visited[int(rng.integers(len(visited)))]
                near = np.argsort(self.travel[seed_node, visited], kind="stable")[:k]
                removed = {visited[i] for i in near}
        kept = [[n for n in r if n not in removed] for r in routes]
        return self.insert(kept, removed, rng)


_OPERATORS = frozenset(
    {
        "use_relocate",
        "use_exchange",
        "use_cross",
        "use_two_opt",
        "use_or_opt",
        "use_make_active",
        "use_make_inactive",
        "use_make_chain_inactive",
        "use_swap_active",
    }
)
"""The OR-Tools moves of one descent: routing moves plus the orienteering ones (insert,
remove, swap a visit for an unvisited stop). The others are off: the large-neighbourhood
ones and the extended swaps cost 10-50× more time per descent on 100-200 stops and the
ruin-and-recreate loop does their job for less. (Restricting moves to near neighbours
with ``ls_operator_neighbors_ratio`` made each descent slower, not faster, in 9.15.)"""


def _descent_parameters() -> Any:
    """OR-Tools search for one descent: path-cheapest-arc, then local search to a local optimum.

    No metaheuristic: OR-Tools' guided local search penalises arcs in units of
    their cost (travel seconds) and so can never trade prize for travel; the
    escape from local optima is the ruin-and-recreate loop instead.
    """
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    ops = params.local_search_operators
    for f in ops.DESCRIPTOR.fields:
        setattr(ops, f.name, BOOL_TRUE if f.name in _OPERATORS else BOOL_FALSE)
    return params
