"""Daily, weekly and monthly summaries (日小结、周汇报、月汇总) of the case loop.

What a town leader asks of a period, for the city or any unit under it:
how many reports came in, how many were valid, rejected (and why) or
duplicates, how many were closed and how many are still open; how fast the
officers acknowledged, verified and closed them; which deadlines were missed
and how often cases were escalated; what was paid in rewards; which
categories and places dominate; and how all that compares with the period
before.

Periods are local calendar periods in the city's time zone: a day, an ISO
week (Monday to Sunday) or a month; ``[start, end)``.

Definitions (from the case rows; each event is counted in the period its
own timestamp falls in, so a case reported last week and closed this week
counts as closed this week):

- **received**: ``reported_at`` in the period; **routed**: of those, located
  in a grid (``grid_id`` set); **outside_grids**: the others (they went to
  the city dispatch centre); **possible_duplicates**: flagged at intake.
- **acknowledged**, **resolved**, **closed**: ``acknowledged_at``,
  ``resolved_at``, ``closed_at`` in the period.
- **verified_valid**: ``verified_at`` in the period and the case now in
  verified, in progress, resolved or closed (a case verified and later
  rejected or reopened is not counted as valid).
- **rejected** (by reason): now rejected, and rejected in the period (a
  rejected case cannot change until it is reopened, so its ``updated_at``
  is the rejection); **duplicates** are the rejections with reason
  ``duplicate`` (merged by a dispatcher or found so on site).
- **still_open**: reported before the end of the period and not finished
  by then (finished: resolved, closed or rejected; a resolved case waits
  only for the dispatcher's close and is not open).
- **time to acknowledge / verify / close**: minutes from ``reported_at`` to
  the timestamp, for the cases acknowledged / verified (valid or not) /
  closed in the period: count, median and 90th percentile (linear
  interpolation, numpy's default).
- **deadlines_missed**: deadlines the escalation checker recorded as
  missed (``missed``) whose due time lies in the period.
- **escalations**: ``escalate`` rows of the audit log in the period
  (missed deadlines and dispatchers' manual escalations).
- **rewards**: ledger rows awarded in the period: yuan, points, awards.
- **top_categories**, **top_cells** (H3 res 9): of the received.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from geo.h3cells import cells_to_parents
from geo.hotspots import cells_to_strings
from grids.analytics.hotspots import case_unit_conditions, resolve_unit
from grids.cases.models import OPEN_STATUSES, Case, CaseEvent, RewardEntry
from grids.city.directory import Directory, UnitInfo
from grids.city.models import Category
from grids.community.models import PointsEntry
from grids.community.points import report_points
from grids.errors import InvalidInput

PERIODS = ("day", "week", "month")
VALID_STATUSES = ("verified", "in_progress", "resolved", "closed")
DEADLINES = {"acknowledge": "ack_due", "verify": "verify_due", "close": "close_due"}
REJECT_REASONS = ("invalid", "duplicate", "not_ours")
TOP_CELL_RES = 9
CHILD_LEVEL = {"city": "town", "town": "community", "community": "grid"}
#: The counts compared with the previous period.
COMPARED = (
    "received",
    "verified_valid",
    "rejected",
    "duplicates",
    "closed",
    "still_open",
    "deadlines_missed",
    "escalations",
)


@dataclass(frozen=True)
class Period:
    """A local calendar period ``[start, end)``: a day, an ISO week or a month."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    def previous(self) -> Period:
        return period_of(self.kind, self.start - dt.timedelta(days=1))

    def bounds(self, tz: str) -> tuple[dt.datetime, dt.datetime]:
        """The period as aware UTC instants (local midnights)."""
        zone = ZoneInfo(tz)
        return (
            dt.datetime.combine(self.start, dt.time(), zone).astimezone(dt.UTC),
            dt.datetime.combine(self.end, dt.time(), zone).astimezone(dt.UTC),
        )

    def describe(self, tz: str) -> dict[str, str]:
        return {
            "kind": self.kind,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": (self.end - dt.timedelta(days=1)).isoformat(),
            "timezone": tz,
        }


def period_of(kind: str, day: dt.date) -> Period:
    """The day, ISO week (Monday first) or month that contains ``day``."""
    if kind == "day":
        return Period(kind, day, day + dt.timedelta(days=1))
    if kind == "week":
        monday = day - dt.timedelta(days=day.isoweekday() - 1)
        return Period(kind, monday, monday + dt.timedelta(days=7))
    if kind == "month":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return Period(kind, first, following)
    raise InvalidInput(f"period must be one of {', '.join(PERIODS)}, got {kind!r}")


def parse_day(text: str | None, tz: str) -> dt.date:
    """``YYYY-MM-DD``, or today in the city when none is given."""
    if text is None or text == "":
        return dt.datetime.now(ZoneInfo(tz)).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"date {text!r} is not a date; use YYYY-MM-DD") from exc


# --------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------

_CASE_COLUMNS = (
    Case.id,
    Case.status,
    Case.grid_id,
    Case.community_id,
    Case.town_id,
    Case.h3_cell,
    Case.reported_at,
    Case.updated_at,
    Case.acknowledged_at,
    Case.verified_at,
    Case.resolved_at,
    Case.closed_at,
    Case.ack_due,
    Case.verify_due,
    Case.close_due,
    Case.missed,
    Case.reject_reason,
    Case.possible_duplicate_of_id,
)
_TIME_COLUMNS = (
    "reported_at",
    "updated_at",
    "acknowledged_at",
    "verified_at",
    "resolved_at",
    "closed_at",
    "ack_due",
    "verify_due",
    "close_due",
)


def _case_frame(
    session: Session, unit: UnitInfo | None, since: dt.datetime, until: dt.datetime
) -> pd.DataFrame:
    """Every case that can count in [since, until): reported before ``until`` and
    changed since ``since`` or still open (one query)."""
    query = (
        select(
            *_CASE_COLUMNS, Category.code.label("category"), Category.name.label("category_name")
        )
        .join(Category, Category.id == Case.category_id)
        .where(
            Case.reported_at < until,
            or_(Case.updated_at >= since, Case.status.in_(OPEN_STATUSES)),
            *case_unit_conditions(unit),
        )
    )
    rows = session.execute(query).all()
    names = [c.key for c in _CASE_COLUMNS] + ["category", "category_name"]
    frame = pd.DataFrame(rows, columns=names)
    for column in _TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _escalations(
    session: Session, unit: UnitInfo | None, since: dt.datetime, until: dt.datetime
) -> pd.Series:
    """Times of the escalate rows of the audit log in [since, until) for the unit's cases."""
    rows = session.execute(
        select(CaseEvent.at)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.action == "escalate",
            CaseEvent.at >= since,
            CaseEvent.at < until,
            *case_unit_conditions(unit),
        )
    ).scalars()
    return pd.Series(pd.to_datetime(list(rows), utc=True), dtype="datetime64[ns, UTC]")


def _rewards(
    session: Session,
    directory: Directory,
    unit: UnitInfo | None,
    since: dt.datetime,
    until: dt.datetime,
) -> pd.DataFrame:
    """Ledger rows of [since, until) for the unit (the ledger keeps grid and town)."""
    conditions: list[ColumnElement[bool]] = [
        RewardEntry.awarded_at >= since,
        RewardEntry.awarded_at < until,
    ]
    if unit is not None and unit.level in ("grid", "town"):
        column = RewardEntry.grid_id if unit.level == "grid" else RewardEntry.town_id
        conditions.append(column == unit.id)
    elif unit is not None:  # a community: its grids
        grids = [
            u.id for u in directory.units.values() if u.level == "grid" and u.parent_id == unit.id
        ]
        conditions.append(RewardEntry.grid_id.in_(grids))
    rows = session.execute(
        select(
            RewardEntry.awarded_at,
            RewardEntry.amount_yuan,
            func.coalesce(PointsEntry.delta, 0),
        )
        .outerjoin(PointsEntry, report_points(RewardEntry.case_id))
        .where(*conditions)
    ).all()
    frame = pd.DataFrame(rows, columns=["awarded_at", "yuan", "points"])
    frame["awarded_at"] = pd.to_datetime(frame["awarded_at"], utc=True)
    return frame


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------


def _within(values: pd.Series, start: dt.datetime, end: dt.datetime) -> pd.Series:
    return (values >= pd.Timestamp(start)) & (values < pd.Timestamp(end))


def _minutes(later: pd.Series, earlier: pd.Series) -> dict[str, Any]:
    """Count, median and 90th percentile of durations in minutes (None when empty)."""
    minutes = ((later - earlier).dt.total_seconds() / 60.0).to_numpy(dtype=np.float64)
    if len(minutes) == 0:
        return {"n": 0, "median": None, "p90": None}
    return {
        "n": len(minutes),
        "median": round(float(np.median(minutes)), 1),
        "p90": round(float(np.percentile(minutes, 90)), 1),
    }


def finished_at(frame: pd.DataFrame) -> pd.Series:
    """When each case stopped being open, as far as its row tells (NaT while open)."""
    done = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    resolved = frame["status"].isin(("resolved", "closed"))
    done[resolved] = frame.loc[resolved, "resolved_at"].fillna(frame.loc[resolved, "closed_at"])
    rejected = frame["status"] == "rejected"
    done[rejected] = frame.loc[rejected, "updated_at"]
    return done


def _metrics(
    frame: pd.DataFrame,
    escalations: pd.Series,
    rewards: pd.DataFrame,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, Any]:
    """Every number of one period (see the module docstring)."""
    received = _within(frame["reported_at"], start, end)
    acknowledged = _within(frame["acknowledged_at"], start, end)
    verified = _within(frame["verified_at"], start, end)
    closed = _within(frame["closed_at"], start, end)
    rejected = (frame["status"] == "rejected") & _within(frame["updated_at"], start, end)
    reasons = frame.loc[rejected, "reject_reason"].fillna("unspecified").value_counts()
    done = finished_at(frame)
    still_open = (frame["reported_at"] < pd.Timestamp(end)) & (
        done.isna() | (done >= pd.Timestamp(end))
    )
    missed_lists = frame["missed"].fillna("").str.split(",")
    missed = {
        name: int(
            (missed_lists.map(lambda m, n=name: n in m) & _within(frame[column], start, end)).sum()
        )
        for name, column in DEADLINES.items()
    }
    paid = rewards[_within(rewards["awarded_at"], start, end)]
    counts = {
        "received": int(received.sum()),
        "routed": int((received & frame["grid_id"].notna()).sum()),
        "outside_grids": int((received & frame["grid_id"].isna()).sum()),
        "possible_duplicates": int((received & frame["possible_duplicate_of_id"].notna()).sum()),
        "acknowledged": int(acknowledged.sum()),
        "verified_valid": int((verified & frame["status"].isin(VALID_STATUSES)).sum()),
        "rejected": int(rejected.sum()),
        "duplicates": int(reasons.get("duplicate", 0)),
        "resolved": int(_within(frame["resolved_at"], start, end).sum()),
        "closed": int(closed.sum()),
        "still_open": int(still_open.sum()),
        "deadlines_missed": sum(missed.values()),
        "escalations": int(_within(escalations, start, end).sum()),
    }
    return {
        "counts": counts,
        "rejected_by_reason": {
            **{r: int(reasons.get(r, 0)) for r in REJECT_REASONS},
            **{str(r): int(n) for r, n in reasons.items() if r not in REJECT_REASONS},
        },
        "times_minutes": {
            "acknowledge": _minutes(
                frame.loc[acknowledged, "acknowledged_at"], frame.loc[acknowledged, "reported_at"]
            ),
            "verify": _minutes(
                frame.loc[verified, "verified_at"], frame.loc[verified, "reported_at"]
            ),
            "close": _minutes(frame.loc[closed, "closed_at"], frame.loc[closed, "reported_at"]),
        },
        "deadlines_missed": missed,
        "rewards": {
            "yuan": str(
                sum((Decimal(str(v)) for v in paid["yuan"]), Decimal(0)).quantize(Decimal("0.01"))
            ),
            "points": int(paid["points"].sum()),
            "awards": len(paid),
        },
        "_received": received,
        "_still_open": still_open,
        "_closed": closed,
    }


def _top_categories(frame: pd.DataFrame, mask: pd.Series, top: int) -> list[dict[str, Any]]:
    chosen = frame.loc[mask]
    counts = chosen.groupby(["category", "category_name"]).size().reset_index(name="count")
    counts = counts.sort_values(["count", "category"], ascending=[False, True]).head(top)
    return [
        {"code": r["category"], "name": r["category_name"], "count": int(r["count"])}
        for r in counts.to_dict("records")
    ]


def _top_cells(
    frame: pd.DataFrame, mask: pd.Series, directory: Directory, top: int
) -> list[dict[str, Any]]:
    chosen = frame.loc[mask]
    if len(chosen) == 0:
        return []
    parents = cells_to_parents(
        chosen["h3_cell"].to_numpy(dtype=np.int64).astype(np.uint64), TOP_CELL_RES
    )
    cells = pd.DataFrame({"cell": parents, "grid_id": chosen["grid_id"].to_numpy()})
    ranked = cells.groupby("cell").size().reset_index(name="count")
    ranked = ranked.sort_values(["count", "cell"], ascending=[False, True]).head(top)
    counts = dict(zip(ranked["cell"], ranked["count"], strict=True))
    out = []
    for cell, n in counts.items():
        grids = cells.loc[cells["cell"] == cell, "grid_id"].dropna()
        grid = directory.units.get(int(grids.mode().iloc[0])) if len(grids) else None
        out.append(
            {
                "cell": str(cells_to_strings(np.asarray([cell], dtype=np.uint64))[0]),
                "res": TOP_CELL_RES,
                "count": int(n),
                "grid": grid.code if grid else None,
            }
        )
    return out


def _by_unit(
    frame: pd.DataFrame, metrics: dict[str, Any], directory: Directory, unit: UnitInfo | None
) -> list[dict[str, Any]]:
    """Received, closed and still open per child unit (towns of the city, and so on)."""
    level = CHILD_LEVEL.get(unit.level if unit else "city")
    if level is None:
        return []
    column = {"town": "town_id", "community": "community_id", "grid": "grid_id"}[level]
    parent_id = unit.id if unit else None
    children = sorted(
        (
            u
            for u in directory.units.values()
            if u.level == level and (parent_id is None or u.parent_id == parent_id)
        ),
        key=lambda u: u.code,
    )
    table = (
        pd.DataFrame(
            {
                "unit": frame[column],
                "received": metrics["_received"],
                "closed": metrics["_closed"],
                "still_open": metrics["_still_open"],
            }
        )
        .groupby("unit")[["received", "closed", "still_open"]]
        .sum()
    )
    sums: dict[Any, dict[Any, Any]] = table.to_dict("index")
    empty = {"received": 0, "closed": 0, "still_open": 0}
    return [
        {
            "code": child.code,
            "name": child.name,
            **{key: int(value) for key, value in sums.get(child.id, empty).items()},
        }
        for child in children
    ]


def _series(
    frame: pd.DataFrame, period: Period, tz: str, start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """Received and closed per hour (a day) or per day (a week or month), local time."""
    hourly = period.kind == "day"
    if hourly:
        labels = [f"{h:02d}:00" for h in range(24)]
    else:
        days = (period.end - period.start).days
        labels = [(period.start + dt.timedelta(days=i)).isoformat() for i in range(days)]

    def bucket(values: pd.Series) -> pd.Series:
        inside = values[_within(values, start, end)].dt.tz_convert(tz)
        keys = inside.dt.strftime("%H:00") if hourly else inside.dt.strftime("%Y-%m-%d")
        return keys.value_counts()

    received = bucket(frame["reported_at"])
    closed = bucket(frame["closed_at"])
    return [
        {"bin": label, "received": int(received.get(label, 0)), "closed": int(closed.get(label, 0))}
        for label in labels
    ]


def _change(current: int, previous: int) -> dict[str, Any]:
    pct = round(100.0 * (current - previous) / previous, 1) if previous else None
    return {"value": current, "previous": previous, "delta": current - previous, "pct": pct}


def summarise(
    session: Session,
    directory: Directory,
    *,
    period: str,
    day: dt.date,
    unit: str | None = None,
    tz: str = "Asia/Shanghai",
    top: int = 5,
) -> dict[str, Any]:
    """The summary of the ``period`` (day, week or month) containing ``day`` for the
    unit with code ``unit`` (None: the city), with the previous period for comparison."""
    current = period_of(period, day)
    previous = current.previous()
    unit_info = resolve_unit(directory, unit)
    start, end = current.bounds(tz)
    prev_start, prev_end = previous.bounds(tz)
    frame = _case_frame(session, unit_info, prev_start, end)
    escalations = _escalations(session, unit_info, prev_start, end)
    rewards = _rewards(session, directory, unit_info, prev_start, end)
    now = _metrics(frame, escalations, rewards, start, end)
    before = _metrics(frame, escalations, rewards, prev_start, prev_end)
    public = {k: v for k, v in now.items() if not k.startswith("_")}
    return {
        "period": current.describe(tz),
        "unit": unit_info.ref() if unit_info else _city_ref(directory),
        **public,
        "top_categories": _top_categories(frame, now["_received"], top),
        "top_cells": _top_cells(frame, now["_received"], directory, top),
        "by_unit": _by_unit(frame, now, directory, unit_info),
        "series": _series(frame, current, tz, start, end),
        "previous": {
            "period": previous.describe(tz),
            **{k: v for k, v in before.items() if not k.startswith("_")},
        },
        "change": {key: _change(now["counts"][key], before["counts"][key]) for key in COMPARED},
    }


def _city_ref(directory: Directory) -> dict[str, str | None]:
    city = directory.city
    if city is not None:
        return city.ref()
    return {"code": None, "name": "全市", "name_en": "the whole city", "level": "city"}


def summary_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary flattened for a spreadsheet: section, key, value, previous."""
    previous = summary["previous"]
    rows: list[dict[str, Any]] = []

    def add(section: str, key: str, value: Any, before: Any = None) -> None:
        rows.append({"section": section, "key": key, "value": value, "previous": before})

    add(
        "period", summary["period"]["kind"], summary["period"]["label"], previous["period"]["label"]
    )
    add("unit", summary["unit"]["level"], summary["unit"]["code"] or summary["unit"]["name"])
    for section in ("counts", "rejected_by_reason", "deadlines_missed", "rewards"):
        for key, value in summary[section].items():
            add(section, key, value, previous[section].get(key))
    for step, stats in summary["times_minutes"].items():
        for stat, value in stats.items():
            add("times_minutes", f"{step}_{stat}", value, previous["times_minutes"][step][stat])
    for item in summary["top_categories"]:
        add("top_categories", item["code"], item["count"])
    for item in summary["top_cells"]:
        add("top_cells", item["cell"], item["count"])
    for item in summary["by_unit"]:
        for key in ("received", "closed", "still_open"):
            add("by_unit", f"{item['code']}.{key}", item[key])
    return rows


__all__ = [
    "PERIODS",
    "Period",
    "finished_at",
    "parse_day",
    "period_of",
    "summarise",
    "summary_rows",
]
