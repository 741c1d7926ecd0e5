"""The sample city's year of history, loaded into the store as cases, events, rewards and
check-ins (see :mod:`grids.samples.lifecycles` for what happens and
:mod:`grids.history.writer` for how it is written)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select

from grids.accounts.models import Reporter
from grids.cases.conversation import CaseMessage
from grids.cases.intake import CaseConfig
from grids.cases.models import Case, CaseEvent, IdempotencyKey, Photo, RewardEntry, WebhookDelivery
from grids.city.locator import GridLocator
from grids.community.models import PointsAccount, PointsEntry
from grids.events import LiveEvent
from grids.history.writer import HistoryCounts, ReporterSpec, route_reports, write_history
from grids.patrols.models import CheckIn
from grids.samples.generate import DEMO_LAT, DEMO_LON
from grids.samples.lifecycles import arrivals, draw_lifecycles, reporters
from grids.samples.patrol_history import write_checkins

REPORTS_FILE = "reports.parquet"


def has_history(conn: Connection) -> bool:
    return bool(conn.scalar(select(func.count()).select_from(Case)))


#: What a history is made of, in the order it is removed (what refers to cases first).
HISTORY_TABLES = (
    LiveEvent,
    CaseMessage,
    Photo,
    IdempotencyKey,
    WebhookDelivery,
    RewardEntry,
    CaseEvent,
    Case,
    Reporter,
    CheckIn,
)


def clear_history(conn: Connection) -> None:
    """Remove every case, its audit rows, rewards, reporters and the check-ins
    (``samples build --force`` replaces the history)."""
    reporters_accounts = select(PointsAccount.id).where(PointsAccount.reporter_id.is_not(None))
    conn.execute(delete(PointsEntry).where(PointsEntry.account_id.in_(reporters_accounts)))
    conn.execute(delete(PointsAccount).where(PointsAccount.reporter_id.is_not(None)))
    for model in HISTORY_TABLES:
        conn.execute(delete(model.__table__))  # type: ignore[arg-type]


def sample_reports(city_dir: Path) -> pd.DataFrame:
    """The generator's reports of the year (the input of the history, not of any analysis)."""
    return pd.read_parquet(Path(city_dir) / REPORTS_FILE)


def load_sample_history(
    conn: Connection,
    locator: GridLocator,
    config: CaseConfig,
    reports: pd.DataFrame,
    *,
    as_of: dt.datetime,
    scale: float,
    seed: int,
    demo_reporter: int | None,
    step: Callable[[str], None] = lambda _: None,
) -> tuple[HistoryCounts, int, pd.DataFrame]:
    """Write the year ending at ``as_of``: (counts, check-ins, the reports as written with
    their arrival times, town and status, for exports and checks)."""
    rng = np.random.default_rng([seed, 11])
    step("history: arrivals and routing")
    routed = route_reports(locator, config, arrivals(reports, as_of, rng))
    towns = routed.towns()
    demo_town = locator.route(DEMO_LAT, DEMO_LON).unit_at("town")
    order = pd.Series(towns).value_counts().index.tolist()
    if demo_town is not None and demo_town.code in order:
        order.remove(demo_town.code)
        order.insert(0, demo_town.code)
    who, total = reporters(
        routed.frame.assign(town=towns), scale, rng, np.asarray(order, dtype=object)
    )
    specs = [ReporterSpec(f"ext:0:wx-{k:05d}", f"wx-{k:05d}") for k in range(total)]
    if demo_reporter is not None:
        specs[0] = ReporterSpec(f"user:{demo_reporter}", None, demo_reporter)
    external = np.asarray([s.external_id for s in specs] + [None], dtype=object)
    routed.frame["reporter_external"] = external[who]  # -1: the None at the end
    times = np.asarray([t.timestamp() for t in routed.reported])
    step("history: cases and their lifecycles")
    counts = write_history(
        conn,
        locator,
        config,
        routed,
        draw_lifecycles(times, routed.categories, rng),
        reporters=specs,
        who=who,
        as_of=as_of,
    )
    step("history: patrol check-ins")
    checkins = write_checkins(conn, as_of=as_of, scale=scale, timezone=config.timezone, seed=seed)
    written = routed.frame.assign(town=towns)[
        ["report_id", "occurred_at", "reported_at", "lat", "lon", "category", "source", "town"]
    ]
    return counts, checkins, written
