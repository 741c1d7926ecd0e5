"""What happens to the sample year's reports: when they arrive, who filed them, and how
each case goes through the loop (drawn per category, seeded).

The generator's year (:mod:`grids.samples.reports`) is moved by whole weeks so it
ends at the build (weekdays and ISO weeks stay as planted) and cut at that
moment. Each report arrives minutes after it occurred; a few thousand
pseudonymous reporters file the app's and WeChat's reports with a heavy tail
(a few neighbourhood volunteers file hundreds, most one or two, the rest come
anonymously, by the hotline or from patrols); each case is acknowledged
within minutes to hours, verified on site near the report, sometimes found
invalid or not ours, started, resolved and closed, with delays scaled to the
category's deadlines so that a realistic share misses one. Which cases are
duplicates of an earlier open one is decided by :mod:`grids.history.writer`
from the ``duplicate_wish`` drawn here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from grids.city.directory import CategoryInfo
from grids.history.writer import Lifecycles
from grids.samples.reports import PERIOD_END

#: The instant the generated year ends (local midnight after PERIOD_END, UTC+8).
YEAR_END = dt.datetime.fromisoformat(PERIOD_END).replace(
    tzinfo=dt.timezone(dt.timedelta(hours=8))
) + dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)

INVALID_SHARE = 0.06
NOT_OURS_SHARE = 0.04
STALLED_SHARE = 0.12  # wait on another department or a contractor: ten times as long
DUPLICATE_SHARE = 0.35  # of the reports that find an open case of the same problem nearby
REPORTERS_PER_SCALE = 3000
VOLUNTEER_SHARE = 0.01  # of the reporters: file hundreds each
ANONYMOUS_SOURCES = ("hotline", "patrol")

FloatArray = NDArray[np.float64]


def year_shift(as_of: dt.datetime) -> dt.timedelta:
    """Whole weeks that move the generated year's end to the first week end at or after
    ``as_of`` (the history is then cut at ``as_of``)."""
    weeks = -((YEAR_END - as_of) // WEEK)
    return weeks * WEEK


def arrivals(reports: pd.DataFrame, as_of: dt.datetime, rng: np.random.Generator) -> pd.DataFrame:
    """The reports moved to end at ``as_of``, with the time each arrived (``reported_at``),
    cut at ``as_of`` and in order of arrival."""
    shift = pd.Timedelta(year_shift(as_of))
    occurred = pd.to_datetime(reports["occurred_at"], utc=True) + shift
    delay = np.minimum(rng.lognormal(np.log(240.0), 1.0, len(reports)), 7200.0)
    reported = occurred + pd.to_timedelta(np.round(delay), unit="s")
    frame = reports.assign(occurred_at=occurred, reported_at=reported)
    frame = frame[frame["reported_at"] <= pd.Timestamp(as_of)]
    return frame.sort_values(["reported_at", "report_id"], kind="stable").reset_index(drop=True)


def reporters(
    frame: pd.DataFrame, scale: float, rng: np.random.Generator, home_town: NDArray[np.object_]
) -> tuple[NDArray[np.int64], int]:
    """The reporter (0-based index, -1 anonymous) of each report and how many there are;
    reporter 0 is the most active volunteer of the first town in ``home_town``."""
    n = len(frame)
    who = np.full(n, -1, dtype=np.int64)
    filed = ~frame["source"].isin(ANONYMOUS_SOURCES).to_numpy()
    total = max(12, round(REPORTERS_PER_SCALE * scale))
    volunteers = max(3, round(total * VOLUNTEER_SHARE))
    towns = frame["town"].to_numpy(dtype=object)
    free = filed.copy()
    for v in range(volunteers):
        town = home_town[v % len(home_town)]
        pool = np.flatnonzero(free & (towns == town))
        want = int(min(len(pool), max(20, rng.lognormal(np.log(250.0 * scale + 20), 0.5))))
        if v == 0:  # the demo reporter: the busiest of all
            want = min(len(pool), 2 * want)
        mine = rng.choice(pool, size=want, replace=False) if want else pool[:0]
        who[mine] = v
        free[mine] = False
    others = total - volunteers
    counts = 1 + rng.geometric(0.6, others) - 1  # most file one or two
    counts = np.minimum(counts, 12)
    pool = np.flatnonzero(free)
    take = min(len(pool), int(counts.sum()))
    chosen = rng.choice(pool, size=take, replace=False)
    who[chosen] = volunteers + np.repeat(np.arange(others), counts)[:take]
    return who, total


def draw_lifecycles(
    reported: FloatArray, categories: list[CategoryInfo], rng: np.random.Generator
) -> Lifecycles:
    """Each case's way through the loop, with delays scaled to its category's deadlines."""
    n = len(reported)
    ack_m = np.array([c.ack_minutes for c in categories], dtype=np.float64) * 60
    verify_m = np.array([c.verify_minutes for c in categories], dtype=np.float64) * 60
    close_m = np.array([c.close_minutes for c in categories], dtype=np.float64) * 60

    def delay(scale_s: FloatArray, median: float, sigma: float) -> FloatArray:
        out: FloatArray = np.maximum(60.0, scale_s * rng.lognormal(np.log(median), sigma, n))
        return out

    ack = reported + delay(ack_m, 0.3, 0.9)
    verify = ack + delay(np.maximum(verify_m - ack_m, 600.0), 0.3, 0.9)
    window = np.maximum(close_m - verify_m, 3600.0)
    stalled = np.where(rng.random(n) < STALLED_SHARE, 10.0, 1.0)
    start = verify + delay(window, 0.08, 0.6)
    resolve = start + delay(window, 0.3, 0.9) * stalled
    close = resolve + delay(np.full(n, 3600.0), 4.0, 0.8)
    fate = rng.random(n)
    valid = fate >= INVALID_SHARE + NOT_OURS_SHARE
    reason = np.full(n, None, dtype=object)
    reason[fate < INVALID_SHARE] = "invalid"
    reason[~valid & (fate >= INVALID_SHARE)] = "not_ours"
    return Lifecycles(
        ack=ack,
        verify=verify,
        start=np.where(valid, start, np.nan),
        resolve=np.where(valid, resolve, np.nan),
        close=np.where(valid, close, np.nan),
        merge_delay=np.maximum(120.0, rng.lognormal(np.log(2400.0), 0.8, n)),
        valid=valid,
        reason=reason,
        duplicate_wish=rng.random(n) < DUPLICATE_SHARE,
        offset_m=rng.normal(0.0, 25.0, (n, 2)).clip(-150, 150),
    )
