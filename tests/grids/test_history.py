"""The sample year in the store: cases written in bulk through the rules of live intake,
plausible lifecycles, summaries that agree with the generator, the planted hot spots."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import h3
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from geo.emerging import Freq, emerging_hotspots
from grids.accounts.models import Reporter, User
from grids.analytics.cases import case_points
from grids.analytics.hotspots import area_cells
from grids.analytics.selection import Selection
from grids.analytics.summaries import summarise
from grids.cases.intake import CaseConfig, NewReport, create_case
from grids.cases.models import OPEN_STATUSES, Case, CaseEvent, RewardEntry
from grids.city.directory import Directory
from grids.city.locator import GridLocator
from grids.history.writer import Lifecycles, route_reports, write_history
from grids.patrols.models import CheckIn
from grids.samples.history import sample_reports
from grids.samples.lifecycles import arrivals, reporters
from grids.samples.reports import HOTSPOT_SPECS
from tests.conftest import (
    HISTORY_AS_OF,
    HistoryCity,
    Store,
    assert_invariants,
    load_city,
    make_store,
)

TZ = ZoneInfo("Asia/Shanghai")


def test_the_year_is_cases_with_whole_lifecycles(history_city: HistoryCity) -> None:
    store, counts = history_city.store, history_city.counts
    assert counts.cases == len(history_city.written) > 5000 and not counts.refused
    assert_invariants(store)  # routing, audit rows of every change, rewards, duplicate chains
    as_of = HISTORY_AS_OF
    with store.sessions() as session:
        statuses = dict(
            session.execute(select(Case.status, func.count()).group_by(Case.status)).all()  # type: ignore[arg-type]
        )
        assert set(statuses) >= {"acknowledged", "verified", "rejected", "in_progress", "closed"}
        reasons = Counter(session.scalars(select(Case.reject_reason)).all())
        assert {"invalid", "duplicate", "not_ours"} <= set(reasons)
        last_days = as_of - dt.timedelta(days=3)
        open_recent = session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.status.in_(OPEN_STATUSES), Case.reported_at >= last_days)
        )
        overdue = session.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.status.in_(OPEN_STATUSES), Case.next_due < as_of)
        )
        assert open_recent and overdue, "the last days' cases are still open, some overdue"
        escalated = session.scalar(select(func.count()).where(Case.escalation_level > 0))
        assert 0.03 < escalated / counts.cases < 0.4
        assert session.scalar(select(func.max(Case.escalation_level))) >= 2
        merged = session.scalars(select(Case).where(Case.duplicate_of_id.is_not(None))).all()
        assert merged and all(
            c.possible_duplicate_of_id == c.duplicate_of_id and c.reject_reason == "duplicate"
            for c in merged
        )
        # every step at its own time, in order, after the report
        events = session.execute(
            select(CaseEvent.case_id, CaseEvent.at, CaseEvent.action).order_by(CaseEvent.id)
        ).all()
        frame = pd.DataFrame(events, columns=["case", "at", "action"])
        assert frame.groupby("case")["at"].apply(lambda s: s.is_monotonic_increasing).all()
        assert (frame["at"] <= as_of).all()
        verify = session.execute(
            select(CaseEvent.lat, CaseEvent.lon, Case.lat, Case.lon)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(CaseEvent.action == "verify")
        ).all()
        assert all(abs(a - c) < 0.005 and abs(b - d) < 0.005 for a, b, c, d in verify)


def test_rewards_stay_within_the_daily_caps(history_city: HistoryCity) -> None:
    with history_city.store.sessions() as session:
        rows = session.execute(
            select(RewardEntry.reporter_id, RewardEntry.awarded_at, RewardEntry.amount_yuan)
        ).all()
    assert rows
    per_day: Counter[tuple[int, dt.date]] = Counter()
    for reporter, at, yuan in rows:
        per_day[(reporter, at.astimezone(TZ).date())] += Decimal(yuan)  # type: ignore[assignment]
    assert max(per_day.values()) <= Decimal(str(history_city.config.reward_daily_cap_yuan))


def test_reporters_are_few_with_a_heavy_tail(history_city: HistoryCity) -> None:
    with history_city.store.sessions() as session:
        filed = Counter(
            session.scalars(select(Case.reporter_id).where(Case.reporter_id.isnot(None)))
        )
        pseudonyms = session.scalars(select(Reporter.pseudonym)).all()
        demo = session.scalar(select(User).where(User.role == "reporter"))
        assert demo is not None
        own = session.scalar(
            select(func.count()).select_from(Case).where(Case.submitted_by_id == demo.id)
        )
    counts = sorted(filed.values(), reverse=True)
    assert len(pseudonyms) == len(set(pseudonyms)) and all(
        p.startswith("居民-") for p in pseudonyms
    )
    assert counts[0] >= 30 * np.median(counts) and np.median(counts) <= 2
    assert own == counts[0], "the demo reporter has the busiest history"


def test_patrol_teams_have_a_year_of_checkins(history_city: HistoryCity) -> None:
    with history_city.store.sessions() as session:
        rows = session.execute(select(CheckIn.at, CheckIn.point_id, CheckIn.team_id)).all()
    assert len(rows) == history_city.checkins > 500
    frame = pd.DataFrame(rows, columns=["at", "point", "team"])
    assert frame["point"].notna().mean() > 0.9  # check-ins at the patrol points
    span = frame["at"].max() - frame["at"].min()
    assert span > pd.Timedelta(days=300) and frame["at"].max() <= HISTORY_AS_OF


def test_every_weeks_summary_received_the_generators_count(history_city: HistoryCity) -> None:
    written = history_city.written
    local = pd.to_datetime(written["reported_at"], utc=True).dt.tz_convert(TZ)
    week = local.dt.to_period("W-SUN")
    expected = week.value_counts()
    demo_town = written["town"].value_counts().index[0]
    in_town = week[written["town"] == demo_town].value_counts()
    with history_city.store.sessions() as session:
        directory = Directory.load(session)
        for period, count in sorted(expected.items()):
            day = period.start_time.date()
            city = summarise(session, directory, period="week", day=day)
            assert city["counts"]["received"] == count, (period, city["counts"], count)
        for period, count in sorted(in_town.items())[-8:]:
            town = summarise(
                session, directory, period="week", day=period.start_time.date(), unit=demo_town
            )
            assert town["counts"]["received"] == count, (demo_town, period)


# --- the planted hot spots, from the store -------------------------------------------


def _planted(city_dir: Path) -> list[dict[str, Any]]:
    spots: list[dict[str, Any]] = json.loads(
        (city_dir / "planted_hotspots.json").read_text(encoding="utf-8")
    )
    return spots


def _classify_planted(
    city: HistoryCity, spot: dict[str, Any], res: int, freq: Freq = "W"
) -> tuple[pd.DataFrame, list[str]]:
    """The emerging classes of the spot's category from the store's cases; the planted
    cell and the cell with the most reports within the spot's radius."""
    with city.store.sessions() as session:
        points = case_points(session, Selection(category=spot["category"]), None)
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    table = emerging_hotspots(
        points.cells,
        points.times,
        res=res,
        freq=freq,
        k=1,
        time_window=1,
        area_cells=area_cells(locator, None, res),
        start="2025-11-16",
        end="2026-11-15",
        tz="Asia/Shanghai",
    )
    centre = h3.latlng_to_cell(spot["lat"], spot["lon"], res)
    near = [
        c
        for c in h3.grid_disk(centre, 3)
        if h3.great_circle_distance(h3.cell_to_latlng(c), (spot["lat"], spot["lon"]), "m")
        <= spot["radius_m"]
    ]
    rows = table[table["cell"].isin([centre, *near])]
    best = rows.sort_values("count", ascending=False)["cell"].iloc[0]
    return table, [centre, best]


@pytest.mark.parametrize("history_city", ["sqlite"], indirect=True)
@pytest.mark.parametrize("res", [8, 9])
@pytest.mark.parametrize("index", range(len(HOTSPOT_SPECS)))
def test_planted_hotspots_are_found_in_the_store_with_their_class(
    history_city: HistoryCity, sample_city_dir: Path, index: int, res: int
) -> None:
    spot = _planted(sample_city_dir)[index]
    table, candidates = _classify_planted(history_city, spot, res)
    got = table.set_index("cell").loc[candidates, "pattern"].tolist()
    assert f"{spot['pattern']}_hot_spot" in got, (spot["name"], got)


@pytest.mark.parametrize("history_city", ["sqlite"], indirect=True)
def test_the_new_hotspot_is_new_at_weekly_and_monthly_bins(
    history_city: HistoryCity, sample_city_dir: Path
) -> None:
    """The 'new' plant lies in the final ISO week, which is in the final calendar month:
    at both bin sizes it is hot in the final time step and never before (ESRI's New)."""
    spot = next(s for s in _planted(sample_city_dir) if s["pattern"] == "new")
    freqs: tuple[Freq, ...] = ("W", "M")
    for res, freq in itertools.product((8, 9), freqs):
        table, candidates = _classify_planted(history_city, spot, res, freq=freq)
        row = table.set_index("cell").loc[candidates[0]]
        assert row["pattern"] == "new_hot_spot" and row["hot_bins"] == 1, (res, freq)


# --- the bulk path is live intake ------------------------------------------------------


def _reports_for_equivalence(city_dir: Path, locator: GridLocator) -> pd.DataFrame:
    """Reports of a planted hot spot over ten days (many possible duplicates), and others
    across the city, including some outside every grid."""
    frame = arrivals(sample_reports(city_dir), HISTORY_AS_OF, np.random.default_rng(5))
    spot = json.loads((city_dir / "planted_hotspots.json").read_text(encoding="utf-8"))[2]
    when = pd.Timestamp(HISTORY_AS_OF) - pd.Timedelta(days=14)
    window = frame["reported_at"] >= when
    dense = frame[window & (frame["category"] == spot["category"])].head(60)
    located = locator.locate_many(frame["lat"].to_numpy(), frame["lon"].to_numpy())
    outside = frame[located.index < 0].head(4)
    others = frame[window].sample(30, random_state=2)
    chosen = pd.concat([dense, outside, others]).drop_duplicates("report_id")
    return chosen.sort_values(["reported_at", "report_id"]).reset_index(drop=True)


def _event_view(e: CaseEvent) -> tuple[Any, ...]:
    names = ("at", "action", "actor_role", "from_status", "to_status", "note", "public_note")
    return (*(getattr(e, n) for n in names), e.lat, e.lon, e.data)


def _intake_view(store: Store) -> list[dict[str, Any]]:
    keep = (
        "id", "category_id", "department_id", "source", "lat", "lon", "h3_cell", "match",
        "snap_distance_m", "grid_id", "community_id", "town_id", "occurred_at", "reported_at",
        "ack_due", "verify_due", "close_due", "possible_duplicate_of_id", "contact",
    )  # fmt: skip
    out = []
    with store.sessions() as session:
        for case in session.scalars(select(Case).order_by(Case.id)):
            events = session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.action.in_(("report", "route")))
                .order_by(CaseEvent.id)
            ).all()
            reporter = session.get(Reporter, case.reporter_id) if case.reporter_id else None
            out.append(
                {k: getattr(case, k) for k in keep}
                | {
                    "reporter": reporter.pseudonym if reporter else None,
                    "events": [_event_view(e) for e in events],
                }
            )
    return out


def test_the_bulk_path_writes_what_live_intake_writes(
    store: Store, sample_city_dir: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    config = CaseConfig(secret="same")
    locator = load_city(store, sample_city_dir)
    reports = _reports_for_equivalence(sample_city_dir, locator)
    routed = route_reports(locator, config, reports)
    who, total = reporters(
        routed.frame.assign(town=routed.towns()),
        0.01,
        np.random.default_rng(1),
        np.asarray(sorted(set(routed.towns()) - {None}), dtype=object),
    )
    from grids.history.writer import ReporterSpec

    specs = [ReporterSpec(f"ext:0:wx-{k}", f"wx-{k}") for k in range(total)]
    external = np.asarray([s.external_id for s in specs] + [None], dtype=object)
    routed.frame["reporter_external"] = external[who]
    n = len(routed)
    never = np.full(n, np.nan)
    idle = Lifecycles(
        never, never, never, never, never, np.full(n, 1e9), np.ones(n, bool),
        np.full(n, None, dtype=object), np.zeros(n, bool), np.zeros((n, 2)),
    )  # fmt: skip
    first = routed.reported[0]
    with store.engine.begin() as conn:
        write_history(conn, locator, config, routed, idle, reporters=specs, who=who, as_of=first)
    live = make_store(store.backend, tmp_path / "live", request)
    live_locator = load_city(live, sample_city_dir)
    for row, at in zip(routed.frame.itertuples(), routed.reported, strict=True):
        with live.transaction() as session:
            create_case(
                session,
                live_locator,
                config,
                NewReport(
                    lat=row.lat,
                    lon=row.lon,
                    category=row.category,
                    occurred_at=row.occurred_at.to_pydatetime(),
                    source=row.source,
                    reporter_id=row.reporter_external
                    if isinstance(row.reporter_external, str)
                    else None,
                ),
                user=None,
                now=at,
                allow_outside=True,
            )
    bulk, replayed = _intake_view(store), _intake_view(live)
    assert len(bulk) == len(replayed) == len(reports)
    assert sum(c["possible_duplicate_of_id"] is not None for c in bulk) > 5
    assert {c["match"] for c in bulk} >= {"inside", "snapped"} or any(
        c["grid_id"] is None for c in bulk
    )
    for mine, theirs in zip(bulk, replayed, strict=True):
        assert mine == theirs
