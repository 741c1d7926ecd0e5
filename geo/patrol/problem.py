"""A patrol plan's problem: inputs checked once and numbered as nodes, and routes turned back
into a :class:`~geo.patrol.types.Plan`.

Both planners of :mod:`geo.patrol.plan` (the OR-Tools search and the greedy
baseline) start from :func:`prepare` and end in :func:`build_plan`; in between
they only choose, per team, which stops to visit in which order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from geo.crs import validate_coordinates
from geo.errors import GeoInputError
from geo.patrol.travel import FloatArray, IntArray, check_speed, travel_matrix
from geo.patrol.types import Candidate, MustVisit, Plan, PlannedStop, StopId, Team, TeamRoute

__all__ = ["Problem", "build_plan", "prepare"]

_MAX_LISTED = 5


@dataclass
class Problem:
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


def prepare(
    candidates: Sequence[Candidate],
    must_visit: Sequence[MustVisit],
    teams: Sequence[Team],
    *,
    dwell_minutes: float,
    speed_kmh: float,
    detour: float,
) -> Problem:
    """Validate everything once, with messages that say what to fix; build the matrix."""
    check_speed(speed_kmh, detour)
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
    return Problem(
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


def _unreachable_warnings(p: Problem) -> tuple[list[int], list[str]]:
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


def _not_fitted_warning(p: Problem, ks: list[int]) -> str:
    names = ", ".join(repr(p.must[k].name) for k in ks)
    return (
        f"must-visit point(s) {names} could not be fitted into the shifts together with the "
        "other must-visit points (each is reachable alone, but the plan found has no room "
        "for them); add a team, lengthen the shifts, or shorten the dwell time."
    )


def build_plan(
    p: Problem,
    routes: list[list[int]],
    *,
    solve_seconds: float,
    method: Literal["ortools", "greedy"],
    seed: int | None,
    rounds: int = 0,
    timed_out: bool = False,
) -> Plan:
    """Turn routes (stop indices per team) into times, totals and the lists of what was left out.

    The warnings name the must-visit points and candidates out of every team's
    reach (see :func:`_unreachable_warnings`), then the must-visit points that
    are reachable but not on any route.
    """
    dropped_must_k, warnings = _unreachable_warnings(p)
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
            must = p.is_must(k)
            point: MustVisit | Candidate = p.must[k] if must else p.candidates[k - n_must]
            stops.append(
                PlannedStop(
                    id=point.id,
                    lat=float(point.lat),
                    lon=float(point.lon),
                    arrive=team.shift_start + timedelta(seconds=arrive),
                    depart=team.shift_start + timedelta(seconds=depart),
                    prize=p.stop_prize(k),
                    name=point.name,
                    must=must,
                )
            )
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
    if not_fitted:
        warnings.append(_not_fitted_warning(p, not_fitted))
    total = math.fsum(r.prize for r in team_routes)
    return Plan(
        teams=tuple(team_routes),
        total_prize=total,
        dropped=dropped,
        dropped_must=tuple(p.must[k].name for k in must_left),
        warnings=tuple(warnings),
        solve_seconds=solve_seconds,
        method=method,
        seed=seed,
        rounds=rounds,
        timed_out=timed_out,
    )
