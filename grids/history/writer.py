"""A history of many reports written as cases at their own times, in bulk.

The sample city's year goes into the store through the rules of live intake
(:mod:`grids.cases.rules`): each report is checked, located in the cell map and
routed by the dispatch ladder and the rosters at the time it arrived, gets its
category's department and deadlines, the columns and the first audit rows a
live report gets, and the reporter identity and pseudonym live intake would
give it. Its way through the loop (given as :class:`Lifecycles`) is applied
with the lifecycle's own step changes (:mod:`grids.history.timeline`): an audit
row per step at the step's own time, escalations where a deadline passed (as
the checker that runs every minute would have made them), duplicates merged
into the open case live intake would have suggested, rewards within the daily
caps. Rows are written with COPY (PostgreSQL) or executemany (SQLite), the
indexes built after the load.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from sqlalchemy import Connection, bindparam, select, update

from geo import h3cells
from geo.cellmap import Located
from geo.distance import haversine_m
from grids.accounts.models import Reporter
from grids.accounts.reporters import reporter_columns
from grids.bulk import RawJson, fix_sequence, indexes_dropped, insert_rows, next_id
from grids.cases.intake import CaseConfig
from grids.cases.models import Case, CaseEvent, RewardEntry
from grids.cases.rules import CASE_H3_RES, case_columns, check_report, intake_events
from grids.city.directory import CategoryInfo
from grids.city.dispatch import RoutingDecision
from grids.city.locator import GridLocator
from grids.city.models import Category
from grids.community.models import PointsAccount, PointsEntry
from grids.errors import InvalidInput
from grids.history.timeline import Timeline

FloatArray = NDArray[np.float64]
M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class Lifecycles:
    """When each case takes each step (UTC epoch seconds, NaN: never) and how it ends.

    ``duplicate_wish``: the case is merged, ``merge_delay`` seconds after it
    arrived, into the open case of the same problem that intake suggested, if
    there is one. ``offset_m``: the officer's position at the verify, metres
    east and north of the report.
    """

    ack: FloatArray
    verify: FloatArray
    start: FloatArray
    resolve: FloatArray
    close: FloatArray
    merge_delay: FloatArray
    valid: NDArray[np.bool_]
    reason: NDArray[np.object_]
    duplicate_wish: NDArray[np.bool_]
    offset_m: FloatArray


@dataclass(frozen=True)
class ReporterSpec:
    """A reporter of the history: its identity key (as :func:`reporter_key` makes them), the
    app's id for them, and the personal account it is (None for an app's user)."""

    key: str
    external_id: str | None
    user_id: int | None = None


@dataclass
class Routed:
    """The reports intake accepted, each with its category, occurrence and routing."""

    frame: pd.DataFrame
    categories: list[CategoryInfo]
    occurred: list[dt.datetime]
    reported: list[dt.datetime]
    decisions: list[RoutingDecision]
    refused: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.frame)

    def towns(self) -> NDArray[np.object_]:
        return np.asarray(
            [t.code if (t := d.unit_at("town")) else None for d in self.decisions], dtype=object
        )


def route_reports(locator: GridLocator, config: CaseConfig, frame: pd.DataFrame) -> Routed:
    """Check and route reports (``occurred_at``, ``reported_at``, ``lat``, ``lon``,
    ``category``, ``source`` in WGS-84) by the rules of live intake at their arrival."""
    directory = locator.directory
    refused: Counter[str] = Counter()
    keep = np.zeros(len(frame), dtype=bool)
    categories: list[CategoryInfo] = []
    occurred: list[dt.datetime] = []
    reported = [t.to_pydatetime() for t in pd.to_datetime(frame["reported_at"], utc=True)]
    happened = [t.to_pydatetime() for t in pd.to_datetime(frame["occurred_at"], utc=True)]
    descriptions = frame["description"] if "description" in frame else [""] * len(frame)
    for i, (code, source, text) in enumerate(
        zip(frame["category"], frame["source"], descriptions, strict=True)
    ):
        try:
            info, when = check_report(
                directory,
                category=code,
                source=source,
                description=text,
                occurred_at=happened[i],
                now=reported[i],
                tz=locator.tz,
                max_age_days=config.occurred_max_age_days,
            )
        except InvalidInput as exc:
            refused[str(exc).split(";")[0]] += 1
            continue
        keep[i] = True
        categories.append(info)
        occurred.append(when)
    lat = frame["lat"].to_numpy(dtype=np.float64)
    lon = frame["lon"].to_numpy(dtype=np.float64)
    located = locator.locate_many(lat, lon)
    kept = np.flatnonzero(keep)
    inside = np.ones(len(kept), dtype=bool)
    for j, k in enumerate(kept.tolist()):
        if located.index[k] < 0 and (
            locator.cellmap.distance_to_nearest(lat[k], lon[k], config.max_outside_m) is None
        ):
            inside[j] = False
            refused[f"more than {config.max_outside_m:.0f} m from every grid"] += 1
    kept, categories = kept[inside], [c for c, ok in zip(categories, inside, strict=True) if ok]
    occurred = [t for t, ok in zip(occurred, inside, strict=True) if ok]
    subset = Located(located.index[kept], located.match[kept], located.distance_m[kept])
    arrived = [reported[i] for i in kept]
    decisions = locator.decide_located(
        subset, [t.astimezone(locator.tz) for t in arrived], [c.code for c in categories]
    )
    return Routed(
        frame.iloc[kept].reset_index(drop=True), categories, occurred, arrived, decisions, refused
    )


def nearby_candidates(routed: Routed) -> list[NDArray[np.int64]]:
    """For each case, the candidates intake's nearby search may suggest (same category,
    within its radius): indices of earlier cases, to be filtered by time and state."""
    lat = routed.frame["lat"].to_numpy(dtype=np.float64)
    lon = routed.frame["lon"].to_numpy(dtype=np.float64)
    # a local plane at the mean latitude (a superset: the exact distance filters after)
    x = lon * M_PER_DEG_LAT * np.cos(np.radians(lat.mean() if len(lat) else 0.0))
    y = lat * M_PER_DEG_LAT
    codes = np.asarray([c.code for c in routed.categories], dtype=object)
    radius = {c.code: c.duplicate_radius_m for c in routed.categories}
    near: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)] * len(lat)
    for code in np.unique(codes) if len(codes) else []:
        members = np.flatnonzero(codes == code)
        tree = cKDTree(np.column_stack([x[members], y[members]]))
        found = tree.query_ball_point(
            np.column_stack([x[members], y[members]]), radius[code] * 1.05 + 1.0
        )
        for k, hits in enumerate(found):
            near[members[k]] = members[np.asarray(hits, dtype=np.int64)]
    return near


def suggest(
    i: int,
    candidates: NDArray[np.int64],
    times: FloatArray,
    ends: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    radius_m: float,
    window_s: float,
) -> int:
    """The case live intake suggests as a duplicate of case ``i`` (-1: none): the nearest
    earlier case of its category within the radius and window, still open when it arrived."""
    c = candidates[(candidates < i)]
    if not len(c):
        return -1
    c = c[(times[c] >= times[i] - window_s) & (ends[c] > times[i])]
    if not len(c):
        return -1
    distance = haversine_m(lat[i], lon[i], lat[c], lon[c])
    ok = distance <= radius_m
    if not ok.any():
        return -1
    c, distance = c[ok], distance[ok]
    return int(c[np.lexsort((c, distance))[0]])


@dataclass
class HistoryCounts:
    """What a history load wrote."""

    cases: int = 0
    events: int = 0
    rewards: int = 0
    reporters: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)


CASE_COLUMNS = [c.name for c in Case.__table__.columns]
EVENT_COLUMNS = [c.name for c in CaseEvent.__table__.columns if c.name != "id"]
REWARD_COLUMNS = [c.name for c in RewardEntry.__table__.columns if c.name != "id"]


def write_history(
    conn: Connection,
    locator: GridLocator,
    config: CaseConfig,
    routed: Routed,
    lifecycles: Lifecycles,
    *,
    reporters: list[ReporterSpec],
    who: NDArray[np.int64],
    as_of: dt.datetime,
) -> HistoryCounts:
    """Write the routed reports as cases with their lifecycles up to ``as_of``, in bulk."""
    n = len(routed)
    counts = HistoryCounts(refused=dict(routed.refused))
    if n == 0:
        return counts
    case_table = Case.__table__
    first_case = next_id(conn, case_table)  # type: ignore[arg-type]
    first_reporter = next_id(conn, Reporter.__table__)  # type: ignore[arg-type]
    category_rows = {
        code: (cid, dept)
        for cid, code, dept in conn.execute(
            select(Category.id, Category.code, Category.department_id)
        )
    }
    reporter_ids = np.where(who >= 0, first_reporter + who, -1)
    lat = routed.frame["lat"].to_numpy(dtype=np.float64)
    lon = routed.frame["lon"].to_numpy(dtype=np.float64)
    cells = h3cells.latlng_to_cells(lat, lon, CASE_H3_RES)
    times = np.asarray([t.timestamp() for t in routed.reported], dtype=np.float64)
    limit = as_of.timestamp()
    timeline = Timeline(locator.directory, config, lifecycles, times, limit)
    near = nearby_candidates(routed)
    window_s = config.duplicate_window_days * 86400.0
    externals = routed.frame.get("reporter_external", pd.Series([None] * n)).tolist()
    sources = routed.frame["source"].astype(str).tolist()
    lats, lons, cell_ids = lat.tolist(), lon.tolist(), cells.tolist()
    case_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    deferred: list[tuple[int, int, dict[str, Any]]] = []
    for i in range(n):
        category = routed.categories[i]
        case_id = first_case + i
        suggested = suggest(
            i, near[i], times, timeline.ends, lat, lon, category.duplicate_radius_m, window_s
        )
        possible = first_case + suggested if suggested >= 0 else None
        reporter = int(reporter_ids[i]) if reporter_ids[i] >= 0 else None
        spec = reporters[int(who[i])] if reporter is not None else None
        cat_id, dept_id = category_rows[category.code]
        external = externals[i]
        decision = routed.decisions[i]
        routing = decision.to_dict()
        columns = case_columns(
            decision,
            category,
            category_id=cat_id,
            department_id=dept_id,
            lat=lats[i],
            lon=lons[i],
            h3_cell=int(cell_ids[i]),
            source=sources[i],
            description="",
            occurred=routed.occurred[i],
            reported=routed.reported[i],
            reporter_id=reporter,
            submitted_by_id=spec.user_id if spec else None,
            contact={"id": external} if isinstance(external, str) else {},
            attributes={},
            routing=routing,
        )
        columns["id"] = case_id
        columns["possible_duplicate_of_id"] = possible
        columns["duplicate_of_id"] = None
        columns["reject_reason"] = None
        columns["acknowledged_at"] = columns["verified_at"] = None
        columns["resolved_at"] = columns["closed_at"] = None
        routing_json = RawJson(json.dumps(routing, ensure_ascii=False))
        for row in intake_events(
            decision,
            possible_duplicate_of=possible,
            actor_user_id=spec.user_id if spec else None,
            actor_role="reporter" if spec and spec.user_id else "system",
            lat=lats[i],
            lon=lons[i],
            at=routed.reported[i],
            routing=routing,
        ):
            if row["action"] == "route":  # the block serialised once, for the case and here
                duplicate = json.dumps(possible)
                row["data"] = RawJson(
                    f'{{"routing": {routing_json}, "possible_duplicate_of": {duplicate}}}'
                )
            event_rows.append(_event_tuple(case_id, row))
        root = suggested if suggested >= 0 and timeline.is_root(suggested) else -1
        for row in timeline.play(i, columns, root=root, first_case=first_case):
            if "_grid" in row:  # a valid verify: its reward is known once all are played
                deferred.append((len(event_rows), case_id, row))
            event_rows.append(_event_tuple(case_id, row))
        if columns["routing"] is routing:  # not escalated: the block as routed
            columns["routing"] = routing_json
        case_rows.append(_case_values(columns))
        counts.statuses[columns["status"]] = counts.statuses.get(columns["status"], 0) + 1
    timeline.award_all()
    for k, case_id, row in deferred:
        event_rows[k] = _event_tuple(case_id, row)
    reporter_rows = [
        (
            first_reporter + k,
            *reporter_columns(
                config.secret, s.key, external_id=s.external_id, user_id=s.user_id
            ).values(),
        )
        for k, s in enumerate(reporters)
    ]
    reporter_table = Reporter.__table__
    insert_rows(
        conn,
        reporter_table,  # type: ignore[arg-type]
        ["id", "identity_key", "pseudonym", "external_id", "user_id"],
        reporter_rows,
    )
    fix_sequence(conn, reporter_table)  # type: ignore[arg-type]
    tables = [case_table, CaseEvent.__table__, RewardEntry.__table__]
    with indexes_dropped(conn, tables):  # type: ignore[arg-type]
        counts.cases = insert_rows(conn, case_table, CASE_COLUMNS, case_rows)  # type: ignore[arg-type]
        counts.events = insert_rows(conn, CaseEvent.__table__, EVENT_COLUMNS, event_rows)  # type: ignore[arg-type]
        counts.rewards = insert_rows(
            conn,
            RewardEntry.__table__,  # type: ignore[arg-type]
            REWARD_COLUMNS,
            [tuple(r[c] for c in REWARD_COLUMNS) for r in timeline.rewards],
        )
    fix_sequence(conn, case_table)  # type: ignore[arg-type]
    credit_reward_points(conn, timeline.rewards)
    counts.reporters = len(reporter_rows)
    return counts


def credit_reward_points(conn: Connection, rewards: list[dict[str, Any]]) -> None:
    """The rewards' points into the one points ledger, as :func:`grids.cases.rewards.award`
    credits them one by one: an account per reporter, one entry per case."""
    earned = [r for r in rewards if r["points"] > 0]
    totals: dict[int, int] = {}
    for reward in earned:
        totals[reward["reporter_id"]] = totals.get(reward["reporter_id"], 0) + reward["points"]
    accounts_table = PointsAccount.__table__
    holders = select(PointsAccount.reporter_id, PointsAccount.id).where(
        PointsAccount.reporter_id.is_not(None)
    )
    known = {r: a for r, a in conn.execute(holders).all()}
    new = [(reporter, 0) for reporter in totals if reporter not in known]
    insert_rows(conn, accounts_table, ["reporter_id", "balance"], new)  # type: ignore[arg-type]
    accounts = {r: a for r, a in conn.execute(holders).all()}
    if totals:
        conn.execute(
            update(PointsAccount)
            .where(PointsAccount.id == bindparam("account"))
            .values(balance=PointsAccount.balance + bindparam("added")),
            [{"account": accounts[r], "added": total} for r, total in totals.items()],
        )
    entries = [
        (
            accounts[r["reporter_id"]],
            r["points"],
            "report",
            f"case:{r['case_id']}",
            r["reason"],
            r["case_id"],
            r["awarded_at"],
        )
        for r in earned
    ]
    insert_rows(
        conn,
        PointsEntry.__table__,  # type: ignore[arg-type]
        ["account_id", "delta", "source", "ref", "reason", "case_id", "at"],
        entries,
    )


_case_values = itemgetter(*CASE_COLUMNS)
_event_values = itemgetter(*EVENT_COLUMNS[1:])  # after case_id


def _event_tuple(case_id: int, row: dict[str, Any]) -> tuple[Any, ...]:
    return (case_id, *_event_values(row))
