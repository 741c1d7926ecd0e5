"""The inputs and outputs of patrol route plans, as frozen dataclasses.

Import them from :mod:`geo.patrol.plan`, which plans with them; they live here
so that every step of the planner (preparing the problem, searching, building
the plan) can use them without importing the planner itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["Candidate", "MustVisit", "Plan", "PlannedStop", "StopId", "Team", "TeamRoute"]

StopId = str | int


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Candidate:
    """A stop worth visiting (a hotspot cell, any point); ``prize`` ≥ 0 is what a visit earns;
    ``name`` is what the team reads on its phone (default: the id)."""

    id: StopId
    lat: float
    lon: float
    prize: float
    name: str | None = None


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
    """One visit: when the team arrives and leaves, and what it earns (0 for must-visit points);
    ``name`` is the stop's own (a must-visit point's, or a candidate's when it has one)."""

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
