"""Which reports and which parameters a hot-spot analysis runs on, and the points it gets.

A :class:`Selection` names the store's cases (a time window, a category, a
unit, optionally some local hours of the day: :class:`Hours`);
:func:`check_parameters` refuses analysis parameters outside what ``geo``
supports; :class:`ReportPoints` is what the cases of a selection yield
(``grids.analytics.cases``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.emerging import Freq
from geo.hotspots import KERNELS
from grids.cases.intake import CASE_H3_RES
from grids.city.directory import Directory, UnitInfo
from grids.city.dispatch import category_of
from grids.errors import InvalidInput, NotFound
from grids.limits import as_utc

SOURCE_CASES = "cases"
RES_RANGE = (4, 12)
K_RANGE = (1, 3)
FREQS: dict[str, Freq] = {"day": "D", "week": "W", "month": "M"}


def parse_instant(text: str | None, tz: str, *, name: str = "time") -> dt.datetime | None:
    """``YYYY-MM-DD`` (local midnight) or an ISO 8601 time (naive = local) as aware UTC."""
    if text is None or text == "":
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{name} {text!r} is not a date or time; use YYYY-MM-DD or an ISO 8601 time "
            "such as 2026-11-16T08:00 (local time) or 2026-11-16T00:00Z"
        ) from exc
    return as_utc(value, tz, name)


def check_parameters(
    *, res: int, k: int = 1, kernel: str = "uniform", freq: str | None = None
) -> None:
    """Refuse parameters outside what the analysis supports, saying what is allowed."""
    lo, hi = RES_RANGE
    if not lo <= res <= hi:
        raise InvalidInput(
            f"res must be an H3 resolution from {lo} to {hi} (reports keep their cell at "
            f"{CASE_H3_RES}; 8 is about 0.7 km², 9 about 0.1 km²), got {res}"
        )
    if not K_RANGE[0] <= k <= K_RANGE[1]:
        raise InvalidInput(f"k (the k-ring size) must be 1, 2 or 3, got {k}")
    if kernel not in KERNELS:
        raise InvalidInput(f"unknown kernel {kernel!r}; use one of {', '.join(KERNELS)}")
    if freq is not None and freq not in FREQS:
        raise InvalidInput(f"freq must be one of {', '.join(FREQS)}, got {freq!r}")


@dataclass(frozen=True)
class Hours:
    """Hours of the day in the city's time zone, ``start`` inclusive and ``end`` exclusive
    (0-24); ``end`` at or before ``start`` runs past midnight: ``Hours(20, 6)`` is the night
    20:00-06:00. Planners ask for the night shift's hot spots, not the whole day's."""

    start: int
    end: int
    tz: str

    def __post_init__(self) -> None:
        if not (0 <= self.start <= 23 and 0 <= self.end <= 24) or self.start == self.end:
            raise InvalidInput(
                f"hours must be two different hours, start 0-23 and end 0-24, e.g. (20, 6) "
                f"for 20:00-06:00; got ({self.start}, {self.end})"
            )

    def keep(self, times: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Which of these UTC times (naive ns) fall in the hours, in local time."""
        local = pd.DatetimeIndex(times).tz_localize("UTC").tz_convert(self.tz).hour.to_numpy()
        if self.start < self.end:
            return (local >= self.start) & (local < self.end)
        return (local >= self.start) | (local < self.end)

    def describe(self) -> str:
        return f"{self.start:02d}:00-{self.end % 24:02d}:00"


@dataclass(frozen=True)
class Selection:
    """Which cases: a time window, a category, a unit (code; None is the city) and, if
    given, only those reported in some hours of the day."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    category: str | None = None
    unit: str | None = None
    hours: Hours | None = None

    def check(self, directory: Directory) -> UnitInfo | None:
        """Validate against the directory; returns the unit (None for the whole city)."""
        if self.since and self.until and self.until <= self.since:
            raise InvalidInput("until must lie after since")
        category_of(directory, self.category)  # refuses unknown codes, listing the valid ones
        return resolve_unit(directory, self.unit)

    @property
    def last_instant(self) -> dt.datetime | None:
        """The last instant inside the window (``until`` is exclusive); None when open."""
        return self.until - dt.timedelta(microseconds=1) if self.until else None

    def in_window(self, times: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Which of these UTC times (naive ns) lie in the window."""
        keep = np.ones(len(times), dtype=bool)
        if self.since is not None:
            keep &= times >= np.datetime64(self.since.replace(tzinfo=None), "ns")
        if self.until is not None:
            keep &= times < np.datetime64(self.until.replace(tzinfo=None), "ns")
        return keep

    def describe(self, *, days: bool = False) -> dict[str, Any]:
        """The window (ISO times, or dates with ``days``), category and unit, as a result
        states what it was computed on."""

        def instant(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            return value.date().isoformat() if days else value.isoformat()

        described = {
            "since": instant(self.since),
            "until": instant(self.until),
            "category": self.category,
            "unit": self.unit,
        }
        if self.hours is not None:
            described["hours"] = self.hours.describe()
        return described


def resolve_unit(directory: Directory, code: str | None) -> UnitInfo | None:
    """The unit with this code; None (the whole city) for no code or the city's own."""
    if code is None or code == "":
        return None
    unit = directory.units_by_code.get(code)
    if unit is None:
        raise NotFound(f"no unit with code {code!r}; see /api/v1/grids?level=town for codes")
    return None if unit.level == "city" else unit


def in_scope(directory: Directory, unit: UnitInfo | None, unit_ids: frozenset[int] | None) -> bool:
    """Whether a unit (None: the city) lies within a scope of unit ids (None: everywhere)."""
    if unit_ids is None:
        return True
    if unit is None:
        return False
    return any(u.id in unit_ids for u in directory.path(unit.id))


def scoped_selection(selection: Selection, default_unit: str | None) -> Selection:
    """The selection with the caller's own unit when they named none."""
    if selection.unit or default_unit is None:
        return selection
    return replace(selection, unit=default_unit)


@dataclass(frozen=True)
class ReportPoints:
    """Reports ready for ``geo``: fine cell, UTC time (naive ns) and category of each.

    ``source`` is ``"cases"`` (the store's); ``excluded`` counts the cases left
    out as rejected invalid or duplicate.
    """

    source: str
    cells: NDArray[np.uint64]
    times: NDArray[np.datetime64]
    categories: NDArray[np.object_]
    excluded: int = 0

    def __len__(self) -> int:
        return len(self.cells)
