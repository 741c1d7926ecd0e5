"""Officer hours on duty from the duty rosters: how much staff time each grid has.

A roster entry is a recurring shift (weekdays, local start and end, valid from/until;
see :class:`grids.city.models.RosterEntry`). Each occurrence of it that overlaps the
window counts with the part inside the window, so a week's hours are exact at the
edges too, and a shift past midnight counts on the day it began. Dispatch routes a case
to the officer on duty by the same entries (:mod:`grids.city.dispatch`), so cases per
officer-hour compares a grid's work with the staff time it really had.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from grids.city.directory import Directory, Shift, UnitInfo
from grids.errors import InvalidInput

COLUMNS = ["officer", "grid", "community", "town", "shifts", "hours"]


def officer_hours_frame(
    directory: Directory,
    since: dt.datetime | None,
    until: dt.datetime | None,
    unit: UnitInfo | None,
    tz: str,
) -> pd.DataFrame:
    """Hours on duty per officer and grid in ``[since, until)`` (aware datetimes)."""
    if since is None or until is None:
        raise InvalidInput("officer hours need a window: give both since and until")
    start, end = pd.Timestamp(since).tz_convert(tz), pd.Timestamp(until).tz_convert(tz)
    # every local day on which an occurrence overlapping the window may begin
    days = pd.date_range(start.normalize().tz_localize(None) - pd.Timedelta(days=1), end.date())
    grids = directory.grids_under(unit.id) if unit is not None else None
    calendar = _Calendar(days, start, end, tz)
    rows = []
    for grid_id, shifts in directory.shifts.items():
        grid = directory.units[grid_id]
        if grid.level != "grid" or (grids is not None and grid_id not in grids):
            continue  # towns' and communities' rosters are dispatchers' and chiefs'
        community = directory.ancestor(grid_id, "community")
        town = directory.ancestor(grid_id, "town")
        for shift in shifts:
            count, hours = calendar.overlap(shift)
            if count:
                rows.append(
                    {
                        "officer": directory.people[shift.person_id].code,
                        "grid": grid.code,
                        "community": community.code if community else None,
                        "town": town.code if town else None,
                        "shifts": count,
                        "hours": hours,
                    }
                )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.groupby(["officer", "grid", "community", "town"], as_index=False, dropna=False)[
        ["shifts", "hours"]
    ].sum()
    return frame.sort_values(["grid", "officer"], ignore_index=True)


class _Calendar:
    """The days a shift may begin on, and each (start, end) pattern's hours inside the
    window per day, computed once per pattern (a city has a few patterns, thousands of
    shifts)."""

    def __init__(
        self, days: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, tz: str
    ) -> None:
        self.days = days
        self.weekday = days.isocalendar().day.to_numpy()
        self.date = days.date
        self.start, self.end, self.tz = start, end, tz
        self._inside: dict[tuple[dt.time, dt.time], np.ndarray] = {}

    def _hours_inside(self, begin: dt.time, finish: dt.time) -> np.ndarray:
        key = (begin, finish)
        if key not in self._inside:
            begin_offset = pd.Timedelta(hours=begin.hour, minutes=begin.minute)
            end_offset = pd.Timedelta(hours=finish.hour, minutes=finish.minute)
            if finish <= begin:
                end_offset += pd.Timedelta(days=1)
            begins = self._local(self.days + begin_offset)
            ends = self._local(self.days + end_offset)
            clipped = ends.where(ends < self.end, self.end) - begins.where(
                begins > self.start, self.start
            )
            seconds = np.nan_to_num(clipped.total_seconds().to_numpy(dtype=float), nan=0.0)
            self._inside[key] = np.maximum(seconds, 0.0) / 3600
        return self._inside[key]

    def _local(self, wall: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Wall-clock times in the city: an hour a DST change skips moves forward, an
        ambiguous one counts for nothing (the city's default zone has no DST)."""
        return wall.tz_localize(self.tz, ambiguous="NaT", nonexistent="shift_forward")

    def overlap(self, shift: Shift) -> tuple[int, float]:
        """How many occurrences of a shift overlap the window, and their hours inside it."""
        valid = np.isin(self.weekday, list(shift.weekdays)) & (self.date >= shift.valid_from)
        if shift.valid_until is not None:
            valid &= self.date <= shift.valid_until
        hours = self._hours_inside(shift.start, shift.end)[valid]
        return int((hours > 0).sum()), float(hours.sum())
