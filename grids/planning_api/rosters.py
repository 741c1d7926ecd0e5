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
    rows = []
    for grid_id, shifts in directory.shifts.items():
        if grids is not None and grid_id not in grids:
            continue
        grid = directory.units[grid_id]
        community = directory.ancestor(grid_id, "community")
        town = directory.ancestor(grid_id, "town")
        for shift in shifts:
            count, hours = _overlap(shift, days, start, end, tz)
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


def _overlap(
    shift: Shift, days: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, tz: str
) -> tuple[int, float]:
    """How many occurrences of a shift overlap ``[start, end)`` and their hours inside it."""
    valid = np.isin(days.isocalendar().day.to_numpy(), list(shift.weekdays))
    valid &= days.date >= shift.valid_from
    if shift.valid_until is not None:
        valid &= days.date <= shift.valid_until
    chosen = days[valid]
    if len(chosen) == 0:
        return 0, 0.0
    begin_offset = pd.Timedelta(hours=shift.start.hour, minutes=shift.start.minute)
    end_offset = pd.Timedelta(hours=shift.end.hour, minutes=shift.end.minute)
    if shift.end <= shift.start:
        end_offset += pd.Timedelta(days=1)
    begins = (chosen + begin_offset).tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    ends = (chosen + end_offset).tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    clipped = ends.where(ends < end, end) - begins.where(begins > start, start)
    inside = np.nan_to_num(clipped.total_seconds().to_numpy(dtype=float), nan=0.0)
    overlapping = inside > 0
    return int(overlapping.sum()), float(inside[overlapping].sum() / 3600)
