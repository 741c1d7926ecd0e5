"""The rules a new case is made by, shared by live intake and the bulk history.

:func:`grids.cases.intake.create_case` (one report, now) and
:mod:`grids.history.writer` (a year of reports at their own times) both check a
report with :func:`check_report`, route it with the dispatch ladder at the
report's own time, and write the columns of :func:`case_columns` (deadlines by
:func:`deadlines`) and the first audit rows of :func:`intake_events`, so a case
of the sample year is a case like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import shapely

from grids import limits
from grids.city.directory import CategoryInfo, Directory
from grids.city.dispatch import RoutingDecision, category_of
from grids.errors import InvalidInput
from grids.limits import as_utc, check_text

CASE_H3_RES = 12
"""Every case keeps its H3 cell at this fine resolution; coarser ones are derived."""

SOURCES = ("app", "wechat", "patrol", "hotline", "open311", "import")
OCCURRED_SKEW = dt.timedelta(minutes=10)
"""How far a phone's clock may run ahead: occurred_at up to this after the report is accepted."""
REPORTED_NOTE = "已收到您的报告 / report received"
ROUTED_NOTE = "已分派给网格员处理 / assigned to the grid officer"


def check_report(
    directory: Directory,
    *,
    category: str,
    source: str,
    description: str,
    occurred_at: dt.datetime | None,
    now: dt.datetime,
    tz: ZoneInfo,
    max_age_days: float,
) -> tuple[CategoryInfo, dt.datetime]:
    """Refuse a report the loop cannot take; its category and when it occurred."""
    if source not in SOURCES:
        raise InvalidInput(f"source must be one of {list(SOURCES)}, got {source!r}")
    info = category_of(directory, category)  # refuses unknown codes, listing valid ones
    assert info is not None
    occurred = occurred_time(occurred_at, now, tz, max_age_days)
    check_text(description, "description", limits.DESCRIPTION_MAX)
    return info, occurred


def occurred_time(
    occurred_at: dt.datetime | None, now: dt.datetime, tz: ZoneInfo, max_age_days: float
) -> dt.datetime:
    """When the problem occurred: now if not given; refused before the horizon or in the future."""
    occurred = as_utc(occurred_at, tz, "occurred_at") or now
    if occurred > now + OCCURRED_SKEW:
        raise InvalidInput(
            f"occurred_at {occurred.isoformat()} is in the future (the report arrived at "
            f"{now.isoformat(timespec='seconds')}); give the time the problem was seen"
        )
    if occurred < now - dt.timedelta(days=max_age_days):
        raise InvalidInput(
            f"occurred_at {occurred.isoformat()} is before the horizon of {max_age_days:g} days "
            "before the report; give the time the problem was seen (ISO 8601 with offset)"
        )
    return occurred


def deadlines(category: CategoryInfo, reported: dt.datetime) -> dict[str, dt.datetime]:
    """The category's deadlines to acknowledge, verify and close, from the report's arrival."""
    return {
        "ack_due": reported + dt.timedelta(minutes=category.ack_minutes),
        "verify_due": reported + dt.timedelta(minutes=category.verify_minutes),
        "close_due": reported + dt.timedelta(minutes=category.close_minutes),
    }


def case_columns(
    decision: RoutingDecision,
    category: CategoryInfo,
    *,
    category_id: int,
    department_id: int | None,
    lat: float,
    lon: float,
    h3_cell: int,
    source: str,
    description: str,
    occurred: dt.datetime,
    reported: dt.datetime,
    reporter_id: int | None,
    submitted_by_id: int | None,
    contact: dict[str, Any],
    attributes: dict[str, Any],
    external: tuple[str, str] | None = None,
    routing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of a case just routed (status ``routed``, working towards acknowledgement);
    ``routing`` is the decision's routing block if the caller has made it already."""
    grid = decision.grid
    community = decision.unit_at("community")
    town = decision.unit_at("town")
    due = deadlines(category, reported)
    return {
        "status": "routed",
        "version": 1,
        "category_id": category_id,
        "department_id": department_id,
        "description": description,
        "source": source,
        "lat": lat,
        "lon": lon,
        "geom": shapely.Point(lon, lat),
        "h3_cell": h3_cell,
        "match": decision.match,
        "snap_distance_m": decision.snap_distance_m,
        "grid_id": grid.id if grid else None,
        "community_id": community.id if community else None,
        "town_id": town.id if town else None,
        "assignee_kind": decision.assignee_kind,
        "assignee_unit_id": decision.assignee_unit.id if decision.assignee_unit else None,
        "officer_id": decision.officer.id if decision.officer else None,
        "escalation_level": 0,
        "routing": routing if routing is not None else decision.to_dict(),
        "reporter_id": reporter_id,
        "contact": {k: v for k, v in contact.items() if v},
        "submitted_by_id": submitted_by_id,
        "occurred_at": occurred,
        "reported_at": reported,
        "updated_at": reported,
        **due,
        "next_due": due["ack_due"],
        "missed": "",
        "attributes": attributes,
        "external_source": external[0] if external else None,
        "external_id": external[1] if external else None,
    }


def intake_events(
    decision: RoutingDecision,
    *,
    possible_duplicate_of: int | None,
    actor_user_id: int | None,
    actor_role: str,
    lat: float,
    lon: float,
    at: dt.datetime,
    routing: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The first two audit rows of a case (reported, routed), without their case id."""
    return [
        {
            "at": at,
            "action": "report",
            "actor_user_id": actor_user_id,
            "actor_role": actor_role,
            "from_status": None,
            "to_status": "reported",
            "note": "",
            "public_note": REPORTED_NOTE,
            "lat": lat,
            "lon": lon,
            "data": {},
        },
        {
            "at": at,
            "action": "route",
            "actor_user_id": None,
            "actor_role": "system",
            "from_status": "reported",
            "to_status": "routed",
            "note": "; ".join(decision.reasons),
            "public_note": ROUTED_NOTE,
            "lat": None,
            "lon": None,
            "data": {
                "routing": routing if routing is not None else decision.to_dict(),
                "possible_duplicate_of": possible_duplicate_of,
            },
        },
    ]
