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

Pure computation: numpy and OR-Tools only, no database, web or settings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_FALSE, BOOL_TRUE

from geo.crs import validate_coordinates
from geo.errors import GeoInputError

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

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), the sphere of the haversine distance."""

PRIZE_SCALE = 1000
"""Prizes are rounded to integers at this scale (precision 0.001) for the solver."""

DEFAULT_DWELL_MINUTES = 12.0
DEFAULT_SPEED_KMH = 15.0
DEFAULT_DETOUR = 1.3
DEFAULT_TIME_LIMIT_S = 10.0
DEFAULT_JITTER = 0.1
"""Relative prize noise of a seeded plan (see :func:`plan_routes`): a guaranteed bound of
(1-j)/(1+j) ≈ 82 % of the best prize for exact solutions; about 1 % less prize in practice."""

_INT64_SAFE = 2**62
_ROUNDS = (150, 5)  # default rounds of the search: 150 + 5 per stop
_PATIENCE = (100, 5)  # stop after 100 + 5 per stop rounds without a better plan
_MAX_LISTED = 5

StopId = str | int
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Candidate:
    """A stop worth visiting (a hotspot cell, any point); ``prize`` ≥ 0 is what a visit earns."""

    id: StopId
    lat: float
    lon: float
    prize: float


@dataclass(frozen=True)
class MustVisit:
    """A key point every shift must visit (重点点位); it earns no prize but costs its dwell."""

    id: StopId
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Team:
    """A patrol team's shift: where it starts and ends, when it starts and how long it lasts.

    ``end_lat``/``end_lon`` default to the start (a round trip). ``shift_start``
    must be timezone-aware so the planned times are unambiguous on a phone.
    """

    name: str
    start_lat: float
    start_lon: float
    shift_start: datetime
    shift_minutes: float
    end_lat: float | None = None
    end_lon: float | None = None

    @property
    def end(self) -> tuple[float, float]:
        """The (lat, lon) where the route ends: the given end, else the start."""
        lat = self.start_lat if self.end_lat is None else self.end_lat
        lon = self.start_lon if self.end_lon is None else self.end_lon
        return (lat, lon)


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class PlannedStop:
    """One visit: when the team arrives and leaves, and what it earns (0 for must-visit points)."""

    id: StopId
    lat: float
    lon: float
    arrive: datetime
    depart: datetime
    prize: float
    name: str | None = None
    must: bool = False


@dataclass(frozen=True)
class TeamRoute:
    """A team's route: stops in visiting order; travel and dwell seconds; when it is back."""

    team: str
    stops: tuple[PlannedStop, ...]
    travel_s: int
    dwell_s: int
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    shift_start: datetime
    shift_end: datetime
    finish: datetime

    @property
    def prize(self) -> float:
        """The prize this team collects."""
        return math.fsum(s.prize for s in self.stops)


@dataclass(frozen=True)
class Plan:
    """A plan for all teams, and everything left out of it, said out loud.

    ``dropped`` holds the candidate ids not visited; ``dropped_must`` the names
    of the must-visit points that could not be fitted (each explained in
    ``warnings``); ``solve_seconds`` the wall-clock time of the search (model
    and search, after validation); ``rounds`` the ruin-and-recreate rounds run
    and ``timed_out`` whether the time limit, not a round limit, stopped them.
    """

    teams: tuple[TeamRoute, ...]
    total_prize: float
    dropped: tuple[StopId, ...]
    dropped_must: tuple[str, ...]
    warnings: tuple[str, ...]
    solve_seconds: float
    method: Literal["ortools", "greedy"] = "ortools"
    seed: int | None = None
    rounds: int = 0
    timed_out: bool = False

    @property
    def travel_s(self) -> int:
        """Total travel seconds over all teams."""
        return sum(t.travel_s for t in self.teams)

    @property
    def dwell_s(self) -> int:
        """Total dwell seconds over all teams."""
        return sum(t.dwell_s for t in self.teams)


# --------------------------------------------------------------------------- travel


def haversine_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres on a sphere of radius :data:`EARTH_RADIUS_M`.

    Arguments broadcast like numpy arrays, so one call gives a whole matrix.
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    a = np.clip(a, 0.0, 1.0)
    return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a)), dtype=np.float64)


def travel_seconds(
    lat1: npt.ArrayLike,
    lon1: npt.ArrayLike,
    lat2: npt.ArrayLike,
    lon2: npt.ArrayLike,
    *,
    speed_kmh: float,
    detour: float,
) -> IntArray:
    """Whole seconds to go between points: ``ceil(haversine_m × detour / (speed_kmh / 3.6))``.

    Rounded up so that a plan is never tighter than the formula says; the
    arguments broadcast (``lat[:, None]`` against ``lat[None, :]`` gives a matrix).
    """
    _check_speed(speed_kmh, detour)
    metres = haversine_m(lat1, lon1, lat2, lon2)
    return np.ceil(metres * detour / (speed_kmh / 3.6)).astype(np.int64)


def travel_matrix(
    lat: npt.ArrayLike, lon: npt.ArrayLike, *, speed_kmh: float, detour: float
) -> IntArray:
    """Travel seconds between every pair of points (square, symmetric, zero diagonal)."""
    la = np.asarray(lat, dtype=np.float64).ravel()
    lo = np.asarray(lon, dtype=np.float64).ravel()
    return travel_seconds(
        la[:, None], lo[:, None], la[None, :], lo[None, :], speed_kmh=speed_kmh, detour=detour
    )


def _check_speed(speed_kmh: float, detour: float) -> None:
    if not (isinstance(speed_kmh, int | float) and math.isfinite(speed_kmh) and speed_kmh > 0):
        raise GeoInputError(
            f"speed_kmh must be a positive number of km/h, got {speed_kmh!r}; "
            "use e.g. 5 on foot or 15 by bicycle."
        )
    if not (isinstance(detour, int | float) and math.isfinite(detour) and detour >= 1.0):
        raise GeoInputError(
            f"detour must be a number ≥ 1 (street distance over straight-line distance), "
            f"got {detour!r}; 1.3 is typical in a city."
        )


# --------------------------------------------------------------------------- the problem


@dataclass
class _Problem:
    """Validated inputs as arrays. Nodes: team starts, team ends, then must-visits, candidates."""

    candidates: list[Candidate]
    must: list[MustVisit]
    teams: list[Team]
    dwell_s: int
    shift_s: list[int]
    lat: FloatArray
    lon: FloatArray
    travel: IntArray
    # reachable[t, k]: stop k (0-based over must + candidates) fits alone in team t's shift
    reachable: npt.NDArray[np.bool_]
    alone_s: IntArray  # [t, k] seconds of start → k → end for team t, travel + dwell

    @property
    def n_teams(self) -> int:
        return len(self.teams)

    @property
    def n_stops(self) -> int:
        return len(self.must) + len(self.candidates)

    def start_node(self, t: int) -> int:
        return t

    def end_node(self, t: int) -> int:
        return self.n_teams + t

    def stop_node(self, k: int) -> int:
        return 2 * self.n_teams + k

    def is_must(self, k: int) -> bool:
        return k < len(self.must)

    def stop_prize(self, k: int) -> float:
        return 0.0 if self.is_must(k) else float(self.candidates[k - len(self.must)].prize)


def _prepare(
    candidates: Sequence[Candidate],
    must_visit: Sequence[MustVisit],
    teams: Sequence[Team],
    *,
    dwell_minutes: float,
    speed_kmh: float,
    detour: float,
) -> _Problem:
    """Validate everything once, with messages that say what to fix; build the matrix."""
    _check_speed(speed_kmh, detour)
    if not (
        isinstance(dwell_minutes, int | float)
        and math.isfinite(dwell_minutes)
        and dwell_minutes >= 0
    ):
        raise GeoInputError(
            f"dwell_minutes must be a number ≥ 0, got {dwell_minutes!r}; "
            "10-15 minutes per stop is what the Koper curve recommends."
        )
    teams = list(teams)
    if not teams:
        raise GeoInputError("no teams given; pass at least one team with a start and a shift.")
    cands = list(candidates)
    must = list(must_visit)

    names = [t.name for t in teams]
    for t in teams:
        if not isinstance(t.name, str) or not t.name.strip():
            raise GeoInputError(f"team name {t.name!r} is empty; give every team a name.")
    dup_names = sorted({n for n in names if names.count(n) > 1})
    if dup_names:
        raise GeoInputError(f"team names must be unique; repeated: {', '.join(dup_names)}.")

    shift_s: list[int] = []
    for team in teams:
        if not isinstance(team.shift_start, datetime) or team.shift_start.utcoffset() is None:
            raise GeoInputError(
                f"team {team.name!r}: shift_start must be a timezone-aware datetime "
                f"(got {team.shift_start!r}); add a tzinfo such as ZoneInfo('Asia/Shanghai')."
            )
        minutes = team.shift_minutes
        if not (isinstance(minutes, int | float) and math.isfinite(minutes) and minutes > 0):
            raise GeoInputError(
                f"team {team.name!r}: shift_minutes must be a positive number, got {minutes!r}."
            )
        if (team.end_lat is None) != (team.end_lon is None):
            raise GeoInputError(
                f"team {team.name!r}: give both end_lat and end_lon, or neither "
                "(the route then ends where it starts)."
            )
        shift_s.append(math.floor(minutes * 60.0))

    ids: list[StopId] = [m.id for m in must] + [c.id for c in cands]
    for i in ids:
        if not isinstance(i, str | int) or isinstance(i, bool) or (isinstance(i, str) and not i):
            raise GeoInputError(f"stop id {i!r} is not a non-empty string or an integer.")
    seen: set[StopId] = set()
    dups: list[str] = []
    for i in ids:
        if i in seen:
            dups.append(repr(i))
        seen.add(i)
    if dups:
        raise GeoInputError(
            "stop ids must be unique across candidates and must-visit points; repeated: "
            + ", ".join(sorted(set(dups))[:_MAX_LISTED])
        )
    for point in must:
        if not isinstance(point.name, str) or not point.name.strip():
            raise GeoInputError(f"must-visit point {point.id!r} has no name; give it one.")
    bad_prize = [
        f"{c.id!r} ({c.prize!r})"
        for c in cands
        if not (isinstance(c.prize, int | float) and math.isfinite(c.prize) and c.prize >= 0)
    ]
    if bad_prize:
        raise GeoInputError(
            f"prizes must be finite numbers ≥ 0; bad for {len(bad_prize)} candidate(s): "
            + ", ".join(bad_prize[:_MAX_LISTED])
            + ". Clip negative scores (e.g. cold spots) to 0 or leave those stops out."
        )

    labels = (
        [f"team {t.name!r} start" for t in teams]
        + [f"team {t.name!r} end" for t in teams]
        + [f"must-visit {m.id!r}" for m in must]
        + [f"candidate {c.id!r}" for c in cands]
    )
    lat_in = (
        [t.start_lat for t in teams]
        + [t.end[0] for t in teams]
        + [m.lat for m in must]
        + [c.lat for c in cands]
    )
    lon_in = (
        [t.start_lon for t in teams]
        + [t.end[1] for t in teams]
        + [m.lon for m in must]
        + [c.lon for c in cands]
    )
    lat, lon = validate_coordinates(lat_in, lon_in, row_labels=labels)

    travel = travel_matrix(lat, lon, speed_kmh=speed_kmh, detour=detour)
    dwell_s = round(dwell_minutes * 60.0)
    n_t = len(teams)
    k_nodes = np.arange(2 * n_t, 2 * n_t + len(ids))
    alone = (
        travel[np.arange(n_t)[:, None], k_nodes[None, :]]
        + dwell_s
        + travel[k_nodes[None, :], (n_t + np.arange(n_t))[:, None]]
    ).astype(np.int64)
    direct = travel[np.arange(n_t), n_t + np.arange(n_t)]
    for i, team in enumerate(teams):
        if direct[i] > shift_s[i]:
            raise GeoInputError(
                f"team {team.name!r} cannot even go from its start to its end in its shift "
                f"({direct[i] / 60:.0f} min of travel, shift {team.shift_minutes:g} min); "
                "lengthen the shift or move the end closer."
            )
    reachable = alone <= np.asarray(shift_s, dtype=np.int64)[:, None]
    return _Problem(
        candidates=cands,
        must=must,
        teams=teams,
        dwell_s=dwell_s,
        shift_s=shift_s,
        lat=lat,
        lon=lon,
        travel=travel,
        reachable=reachable,
        alone_s=alone,
    )


def _unreachable_warnings(p: _Problem) -> tuple[list[int], list[str]]:
    """Must-visit points no team can reach even alone, each named with its reason.

    Also one warning listing the candidates out of everyone's reach (they are
    simply dropped, but a user who expected them on a route should know why).
    """
    out: list[int] = []
    warnings: list[str] = []
    for k, m in enumerate(p.must):
        if p.reachable[:, k].any():
            continue
        slack = p.alone_s[:, k] - np.asarray(p.shift_s)
        t = int(np.argmin(slack))
        travel = int(p.alone_s[t, k]) - p.dwell_s
        out.append(k)
        warnings.append(
            f"must-visit point {m.name!r} (id {m.id!r}) cannot be reached within any shift: "
            f"even alone, team {p.teams[t].name!r} would need {p.alone_s[t, k] / 60:.0f} min "
            f"({travel / 60:.0f} min travel + {p.dwell_s / 60:.0f} min dwell) "
            f"but its shift is {p.teams[t].shift_minutes:g} min. Lengthen the shift, raise "
            "the speed, or start a team closer to it."
        )
    unreachable_c = [
        c.id for j, c in enumerate(p.candidates) if not p.reachable[:, len(p.must) + j].any()
    ]
    if unreachable_c:
        shown = ", ".join(repr(i) for i in unreachable_c[:_MAX_LISTED])
        more = (
            f" and {len(unreachable_c) - _MAX_LISTED} more"
            if len(unreachable_c) > _MAX_LISTED
            else ""
        )
        warnings.append(
            f"{len(unreachable_c)} candidate stop(s) are out of reach of every team within its "
            f"shift and were left out: {shown}{more}."
        )
    return out, warnings


def _not_fitted_warning(p: _Problem, ks: list[int]) -> str:
    names = ", ".join(repr(p.must[k].name) for k in ks)
    return (
        f"must-visit point(s) {names} could not be fitted into the shifts together with the "
        "other must-visit points (each is reachable alone, but the plan found has no room "
        "for them); add a team, lengthen the shifts, or shorten the dwell time."
    )


def _build_plan(
    p: _Problem,
    routes: list[list[int]],
    *,
    warnings: list[str],
    dropped_must_k: list[int],
    solve_seconds: float,
    method: Literal["ortools", "greedy"],
    seed: int | None,
    rounds: int = 0,
    timed_out: bool = False,
) -> Plan:
    """Turn routes (stop indices per team) into times, totals and the lists of what was left out."""
    team_routes: list[TeamRoute] = []
    visited: set[int] = set()
    n_must = len(p.must)
    for t, route in enumerate(routes):
        team = p.teams[t]
        clock = 0
        travel_total = 0
        prev = p.start_node(t)
        stops: list[PlannedStop] = []
        for k in route:
            node = p.stop_node(k)
            leg = int(p.travel[prev, node])
            travel_total += leg
            arrive = clock + leg
            depart = arrive + p.dwell_s
            if k < n_must:
                m = p.must[k]
                stop = PlannedStop(
                    id=m.id,
                    lat=float(m.lat),
                    lon=float(m.lon),
                    arrive=team.shift_start + timedelta(seconds=arrive),
                    depart=team.shift_start + timedelta(seconds=depart),
                    prize=0.0,
                    name=m.name,
                    must=True,
                )
            else:
                c = p.candidates[k - n_must]
                stop = PlannedStop(
                    id=c.id,
                    lat=float(c.lat),
                    lon=float(c.lon),
                    arrive=team.shift_start + timedelta(seconds=arrive),
                    depart=team.shift_start + timedelta(seconds=depart),
                    prize=float(c.prize),
                )
            stops.append(stop)
            visited.add(k)
            clock = depart
            prev = node
        leg = int(p.travel[prev, p.end_node(t)])
        travel_total += leg
        clock += leg
        if clock > p.shift_s[t]:  # a bug, never the user's fault
            raise AssertionError(f"route of team {team.name!r} overruns its shift")
        end_lat, end_lon = team.end
        team_routes.append(
            TeamRoute(
                team=team.name,
                stops=tuple(stops),
                travel_s=travel_total,
                dwell_s=p.dwell_s * len(route),
                start_lat=float(team.start_lat),
                start_lon=float(team.start_lon),
                end_lat=float(end_lat),
                end_lon=float(end_lon),
                shift_start=team.shift_start,
                shift_end=team.shift_start + timedelta(seconds=p.shift_s[t]),
                finish=team.shift_start + timedelta(seconds=clock),
            )
        )
    dropped = tuple(c.id for j, c in enumerate(p.candidates) if n_must + j not in visited)
    must_left = sorted(set(dropped_must_k) | {k for k in range(n_must) if k not in visited})
    not_fitted = [k for k in must_left if k not in dropped_must_k]
    all_warnings = list(warnings)
    if not_fitted:
        all_warnings.append(_not_fitted_warning(p, not_fitted))
    total = math.fsum(r.prize for r in team_routes)
    return Plan(
        teams=tuple(team_routes),
        total_prize=total,
        dropped=dropped,
        dropped_must=tuple(p.must[k].name for k in must_left),
        warnings=tuple(all_warnings),
        solve_seconds=solve_seconds,
        method=method,
        seed=seed,
        rounds=rounds,
        timed_out=timed_out,
    )


# --------------------------------------------------------------------------- OR-Tools


class _RoutingSearch:
    """The OR-Tools routing model of one problem and the ruin-and-recreate loop around it.

    Model nodes: ``0 .. T-1`` the team starts, ``T .. 2T-1`` the team ends,
    then one node per stop in ``stops`` order. Routes are lists of model nodes.
    """

    def __init__(self, p: _Problem, stops: list[int], prize_int: IntArray) -> None:
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

        # lexicographic weights: see the module docstring
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
    :meth:`_RoutingSearch.insert`) is improved by an OR-Tools descent (routing
    and orienteering moves, no metaheuristic); then each round ruins and
    recreates the current plan (:meth:`_RoutingSearch.perturb`) and descends
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
    p = _prepare(
        candidates,
        must_visit,
        teams,
        dwell_minutes=dwell_minutes,
        speed_kmh=speed_kmh,
        detour=detour,
    )
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

    started = time.perf_counter()
    deadline = started + time_limit_s
    unreachable_must, warnings = _unreachable_warnings(p)
    rng = np.random.default_rng([1, seed] if seed is not None else [0])

    stops = [k for k in range(p.n_stops) if p.reachable[:, k].any()]
    prizes = np.array([p.stop_prize(k) for k in stops], dtype=np.float64)
    if seed is not None and jitter > 0:
        prizes = prizes * (1.0 + jitter * rng.uniform(-1.0, 1.0, size=prizes.size))
    prize_int = np.rint(prizes * PRIZE_SCALE).astype(np.int64)
    search = _RoutingSearch(p, stops, prize_int)

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
    return _build_plan(
        p,
        routes,
        warnings=warnings,
        dropped_must_k=unreachable_must,
        solve_seconds=solve_seconds,
        method="ortools",
        seed=seed,
        rounds=rounds,
        timed_out=timed_out,
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
    p = _prepare(
        candidates,
        must_visit,
        teams,
        dwell_minutes=dwell_minutes,
        speed_kmh=speed_kmh,
        detour=detour,
    )
    started = time.perf_counter()
    unreachable_must, warnings = _unreachable_warnings(p)
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
    return _build_plan(
        p,
        routes,
        warnings=warnings,
        dropped_must_k=unreachable_must,
        solve_seconds=time.perf_counter() - started,
        method="greedy",
        seed=None,
    )
