"""The five questions of a store at size, asked through the service's own code paths, and
the query plans PostgreSQL makes for the SQL they send.

The size benchmark times :data:`OPERATIONS`; the query-plan test explains what they send
(captured at the cursor, so the SQL explained is the SQL the service runs and cannot drift
from it) and checks the plans use the intended indexes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from grids.accounts.scope import Scope
from grids.analytics.cases import case_points
from grids.analytics.selection import Selection
from grids.analytics.summaries import period_of, summarise
from grids.cases.models import OPEN_STATUSES, Case
from grids.cases.queries import QueueFilter, nearby_open_cases, queue, status_counts
from grids.cases.views import history
from grids.city.directory import Directory
from grids.city.models import Category

DUPLICATE_WINDOW_DAYS = 7.0
TZ = "Asia/Shanghai"


@dataclass
class Sample:
    """What the operations pick from at random: towns, recent cases, categories, days."""

    end: dt.datetime
    directory: Directory
    towns: list[str]
    cases: list[int]
    spots: list[tuple[float, float]]
    categories: list[str]
    days: list[dt.date] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, end: dt.datetime, *, seed: int = 1) -> Sample:
        directory = Directory.load(session)
        towns = sorted(u.code for u in directory.units.values() if u.level == "town")
        last = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) or 0
        rng = random.Random(seed)
        ids = [rng.randint(max(1, last - last // 10), last) for _ in range(200)]
        spots = [
            (float(lat), float(lon))
            for lat, lon in session.execute(
                select(Case.lat, Case.lon).where(Case.id.in_(ids[:100]))
            ).all()
        ]
        categories = list(session.scalars(select(Category.code).order_by(Category.code)))
        days = [(end - dt.timedelta(days=7 * k + 3)).date() for k in range(1, 52)]
        return cls(end, directory, towns, ids, spots, categories, days)


def dispatch_queue(session: Session, sample: Sample, rng: random.Random) -> Any:
    """A town dispatcher's live queue (open cases, first page) and its status tabs."""
    code = rng.choice(sample.towns)
    town = sample.directory.units_by_code[code]
    scope = Scope(0, "dispatcher", None, frozenset({town.id}))
    filters = QueueFilter(statuses=OPEN_STATUSES, town=code)
    rows = queue(session, scope, filters, now=sample.end)
    return rows, status_counts(session, scope, filters, now=sample.end)


def case_history(session: Session, sample: Sample, rng: random.Random) -> Any:
    """Every audit row of one case."""
    item = session.get(Case, rng.choice(sample.cases))
    assert item is not None
    return history(session, item, public=False)


def nearby_duplicates(session: Session, sample: Sample, rng: random.Random) -> Any:
    """Open cases of a category near a point (what intake checks for every report)."""
    lat, lon = rng.choice(sample.spots)
    category = rng.choice(sample.categories)
    return nearby_open_cases(session, DUPLICATE_WINDOW_DAYS, lat, lon, category, now=sample.end)


def week_summary(session: Session, sample: Sample, rng: random.Random) -> Any:
    """A town's weekly report (周汇报) with the week before."""
    day = rng.choice(sample.days)
    return summarise(
        session, sample.directory, period="week", day=day, unit=rng.choice(sample.towns), tz=TZ
    )


def month_hotspots(session: Session, sample: Sample, rng: random.Random) -> Any:
    """The report points of a town's month: what the hot-spot analysis reads."""
    month = period_of("month", rng.choice(sample.days))
    since, until = month.bounds(TZ)
    selection = Selection(since=since, until=until, unit=rng.choice(sample.towns))
    return case_points(session, selection, selection.check(sample.directory))


Operation = Callable[[Session, Sample, random.Random], Any]
OPERATIONS: dict[str, Operation] = {
    "dispatch queue of a town": dispatch_queue,
    "a case's history": case_history,
    "nearby duplicates": nearby_duplicates,
    "a week's summary of a town": week_summary,
    "hot spots of a month (a town's points)": month_hotspots,
}


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements and parameters sent to the database inside the block."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a JSON plan, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def explain(session: Session, statement: str, parameters: Any) -> dict[str, Any]:
    """PostgreSQL's plan (FORMAT JSON) of a captured statement with its parameters."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
    (value,) = cursor.fetchone()
    plans = value if isinstance(value, list) else json.loads(value)
    return dict(plans[0]["Plan"])
