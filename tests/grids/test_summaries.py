"""Summaries (日小结、周汇报、月汇总) agree with counts taken by hand from the raw rows.

Three weeks of the sample city's reports go through the real case loop on
both backends (``tests.analytics_support.make_history``); every number of the
weekly summary is then recomputed here from the case, audit and ledger rows
with plain Python, independently of the pandas code in grids.analytics.summaries.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import h3
import pytest
from sqlalchemy import select

from grids.analytics.summaries import period_of, summarise
from grids.cases.models import Case, CaseEvent, RewardEntry
from grids.city.directory import Directory, UnitInfo
from grids.city.models import Category
from grids.community.models import PointsEntry
from grids.errors import InvalidInput, NotFound
from tests.analytics_support import SUMMARY_DAY, TZ, ZONE, make_history
from tests.conftest import Store


@pytest.fixture(scope="module")
def history(city_store: Store, sample_city_dir: Path) -> dict[str, int]:
    return make_history(city_store, sample_city_dir)


@pytest.fixture(scope="module")
def rows(city_store: Store, history: dict[str, int]) -> dict[str, Any]:
    with city_store.sessions() as session:
        return {
            "cases": session.scalars(select(Case)).all(),
            "events": session.scalars(select(CaseEvent)).all(),
            "rewards": session.scalars(select(RewardEntry)).all(),
            "points": {  # a reward's points are an entry of the one points ledger
                e.case_id: e.delta
                for e in session.scalars(select(PointsEntry).where(PointsEntry.source == "report"))
            },
            "categories": {c.id: c for c in session.scalars(select(Category))},
            "directory": Directory.load(session),
        }


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), by hand."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _times(pairs: list[tuple[dt.datetime, dt.datetime]]) -> dict[str, Any]:
    minutes = [(b - a).total_seconds() / 60 for a, b in pairs]
    if not minutes:
        return {"n": 0, "median": None, "p90": None}
    return {
        "n": len(minutes),
        "median": round(statistics.median(minutes), 1),
        "p90": round(_percentile(minutes, 0.9), 1),
    }


def expected(rows: dict[str, Any], unit: UnitInfo | None, day: dt.date) -> dict[str, Any]:
    """The week's numbers from the raw rows, one plain loop per definition."""
    monday = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(monday, dt.time(), ZONE)
    end = start + dt.timedelta(days=7)

    def within(t: dt.datetime | None) -> bool:
        return t is not None and start <= t < end

    def mine(case: Case) -> bool:
        return unit is None or getattr(case, f"{unit.level}_id") == unit.id

    cases = [c for c in rows["cases"] if mine(c)]
    received = [c for c in cases if within(c.reported_at)]
    rejected = [c for c in cases if c.status == "rejected" and within(c.updated_at)]

    def finished(c: Case) -> dt.datetime | None:
        if c.status in ("resolved", "closed"):
            return c.resolved_at
        return c.updated_at if c.status == "rejected" else None

    still_open = [
        c for c in cases if c.reported_at < end and (finished(c) is None or finished(c) >= end)
    ]
    missed = {
        name: sum(1 for c in cases if name in c.missed.split(",") and within(getattr(c, due)))
        for name, due in (
            ("acknowledge", "ack_due"),
            ("verify", "verify_due"),
            ("close", "close_due"),
        )
    }
    case_ids = {c.id for c in cases}
    escalations = [
        e
        for e in rows["events"]
        if e.action == "escalate" and within(e.at) and e.case_id in case_ids
    ]
    grids = {
        u.id
        for u in rows["directory"].units.values()
        if u.level == "grid"
        and (unit is None or unit.id in {a.id for a in rows["directory"].path(u.id)})
    }
    paid = [
        r for r in rows["rewards"] if within(r.awarded_at) and (unit is None or r.grid_id in grids)
    ]
    categories = Counter(rows["categories"][c.category_id].code for c in received)
    cells = Counter(h3.cell_to_parent(h3.int_to_str(c.h3_cell), 9) for c in received)
    reasons = Counter(c.reject_reason for c in rejected)
    counts = {
        "received": len(received),
        "routed": sum(1 for c in received if c.grid_id is not None),
        "outside_grids": sum(1 for c in received if c.grid_id is None),
        "possible_duplicates": sum(1 for c in received if c.possible_duplicate_of_id),
        "acknowledged": sum(1 for c in cases if within(c.acknowledged_at)),
        "verified_valid": sum(
            1
            for c in cases
            if within(c.verified_at)
            and c.status in ("verified", "in_progress", "resolved", "closed")
        ),
        "rejected": len(rejected),
        "duplicates": reasons["duplicate"],
        "resolved": sum(1 for c in cases if within(c.resolved_at)),
        "closed": sum(1 for c in cases if within(c.closed_at)),
        "still_open": len(still_open),
        "deadlines_missed": sum(missed.values()),
        "escalations": len(escalations),
    }
    return {
        "counts": counts,
        "rejected_by_reason": {r: reasons[r] for r in ("invalid", "duplicate", "not_ours")},
        "deadlines_missed": missed,
        "times_minutes": {
            "acknowledge": _times(
                [(c.reported_at, c.acknowledged_at) for c in cases if within(c.acknowledged_at)]
            ),
            "verify": _times(
                [(c.reported_at, c.verified_at) for c in cases if within(c.verified_at)]
            ),
            "close": _times([(c.reported_at, c.closed_at) for c in cases if within(c.closed_at)]),
        },
        "rewards": {
            "yuan": str(
                sum((Decimal(r.amount_yuan) for r in paid), Decimal(0)).quantize(Decimal("0.01"))
            ),
            "points": sum(rows["points"].get(r.case_id, 0) for r in paid),
            "awards": len(paid),
        },
        "top_categories": [
            code for code, _ in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        ],
        "top_cells": [
            (cell, n)
            for cell, n in sorted(cells.items(), key=lambda kv: (-kv[1], int(kv[0], 16)))[:5]
        ],
    }


def _busiest_town(rows: dict[str, Any]) -> UnitInfo:
    towns = Counter(c.town_id for c in rows["cases"] if c.town_id is not None)
    return rows["directory"].units[towns.most_common(1)[0][0]]


def _check(summary: dict[str, Any], want: dict[str, Any]) -> None:
    for key in ("counts", "rejected_by_reason", "deadlines_missed", "times_minutes", "rewards"):
        assert summary[key] == want[key], key
    assert [c["code"] for c in summary["top_categories"]] == want["top_categories"]
    assert [(c["cell"], c["count"]) for c in summary["top_cells"]] == want["top_cells"]


def test_weekly_summary_matches_the_raw_rows(rows: dict[str, Any], city_store: Store) -> None:
    directory = rows["directory"]
    for unit in (None, _busiest_town(rows)):
        with city_store.sessions() as session:
            summary = summarise(
                session,
                directory,
                period="week",
                day=SUMMARY_DAY,
                unit=unit.code if unit else None,
                tz=TZ,
            )
        assert summary["period"] == {
            "kind": "week",
            "label": "2026-W46",
            "start": "2026-11-09",
            "end": "2026-11-15",
            "timezone": TZ,
        }
        _check(summary, expected(rows, unit, SUMMARY_DAY))
        before = expected(rows, unit, SUMMARY_DAY - dt.timedelta(days=7))
        assert summary["previous"]["period"]["label"] == "2026-W45"
        assert summary["previous"]["counts"] == before["counts"]
        for key, change in summary["change"].items():
            now, then = summary["counts"][key], before["counts"][key]
            assert change["value"] == now and change["previous"] == then
            assert change["delta"] == now - then
            assert change["pct"] == (round(100 * (now - then) / then, 1) if then else None)


def test_the_week_exercises_every_number(rows: dict[str, Any]) -> None:
    """The history is rich enough for the comparison above to mean something."""
    week = expected(rows, None, SUMMARY_DAY)
    counts = week["counts"]
    for key in (
        "received",
        "acknowledged",
        "verified_valid",
        "rejected",
        "duplicates",
        "closed",
        "still_open",
        "deadlines_missed",
        "escalations",
    ):
        assert counts[key] > 0, key
    assert week["rewards"]["awards"] > 0
    assert week["times_minutes"]["close"]["n"] > 0


def test_days_add_up_to_the_week_and_the_series(rows: dict[str, Any], city_store: Store) -> None:
    directory = rows["directory"]
    monday = SUMMARY_DAY - dt.timedelta(days=SUMMARY_DAY.weekday())
    with city_store.sessions() as session:
        week = summarise(session, directory, period="week", day=SUMMARY_DAY, tz=TZ)
        days = [
            summarise(session, directory, period="day", day=monday + dt.timedelta(days=i), tz=TZ)
            for i in range(7)
        ]
        month = summarise(session, directory, period="month", day=SUMMARY_DAY, tz=TZ)
    for key in (
        "received",
        "acknowledged",
        "verified_valid",
        "rejected",
        "closed",
        "escalations",
        "deadlines_missed",
    ):
        assert sum(d["counts"][key] for d in days) == week["counts"][key], key
        assert month["counts"][key] >= week["counts"][key]
    assert days[-1]["counts"]["still_open"] == week["counts"]["still_open"]
    assert [s["received"] for s in week["series"]] == [d["counts"]["received"] for d in days]
    assert sum(s["received"] for s in days[2]["series"]) == days[2]["counts"]["received"]
    assert len(days[2]["series"]) == 24 and len(month["series"]) == 30
    assert sum(u["received"] for u in week["by_unit"]) == week["counts"]["routed"]


def test_periods_are_local_calendar_periods() -> None:
    assert period_of("week", dt.date(2026, 11, 16)).label == "2026-W47"
    assert period_of("week", dt.date(2027, 1, 1)).label == "2026-W53"
    assert period_of("week", dt.date(2027, 1, 1)).start == dt.date(2026, 12, 28)
    assert period_of("month", dt.date(2026, 2, 14)).end == dt.date(2026, 3, 1)
    assert period_of("month", dt.date(2026, 12, 31)).previous().label == "2026-11"
    assert period_of("day", dt.date(2026, 3, 1)).previous().label == "2026-02-28"
    start, end = period_of("day", dt.date(2026, 11, 16)).bounds(TZ)
    assert start == dt.datetime(2026, 11, 15, 16, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)
    with pytest.raises(InvalidInput, match="period must be one of"):
        period_of("year", dt.date(2026, 1, 1))


def test_unknown_unit_is_refused(rows: dict[str, Any], city_store: Store) -> None:
    with city_store.sessions() as session, pytest.raises(NotFound, match="no unit"):
        summarise(session, rows["directory"], period="week", day=SUMMARY_DAY, unit="XX99")
