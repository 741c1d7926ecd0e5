"""The store's cases as report points, and the conditions that select them.

Cases are placed in time by when they were reported. Cases rejected as
invalid or as duplicates are left out (and counted): they are not problems on
the ground, and a duplicate would count one problem twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session

from geo.aggregate import as_datetime64
from grids.analytics.selection import SOURCE_CASES, ReportPoints, Selection
from grids.cases.models import Case
from grids.city.directory import UnitInfo
from grids.city.models import Category

EXCLUDED_REJECT_REASONS = ("invalid", "duplicate")


def window_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    """Conditions on the cases reported in the selection's time window."""
    conditions: list[ColumnElement[bool]] = []
    if selection.since is not None:
        conditions.append(Case.reported_at >= selection.since)
    if selection.until is not None:
        conditions.append(Case.reported_at < selection.until)
    return conditions


def case_unit_conditions(unit: UnitInfo | None) -> list[ColumnElement[bool]]:
    """Conditions on the cases of a unit (none for the city)."""
    if unit is None:
        return []
    column = {"grid": Case.grid_id, "community": Case.community_id, "town": Case.town_id}
    return [column[unit.level] == unit.id]


def selection_conditions(selection: Selection, unit: UnitInfo | None) -> list[ColumnElement[bool]]:
    """Conditions on the cases of the selection (window, unit, category); a query using
    them joins :class:`Category` on the case's category."""
    conditions = [*window_conditions(selection), *case_unit_conditions(unit)]
    if selection.category is not None:
        conditions.append(Category.code == selection.category)
    return conditions


def has_cases(session: Session, selection: Selection) -> bool:
    """Whether the store holds any case reported in the selection's time window."""
    query = select(Case.id).where(*window_conditions(selection)).limit(1)
    return session.scalar(query) is not None


def counted_cases() -> ColumnElement[bool]:
    """Cases that count as reports of a problem: not rejected as invalid or duplicate."""
    return and_(
        not_(and_(Case.status == "rejected", Case.reject_reason.in_(EXCLUDED_REJECT_REASONS))),
        Case.duplicate_of_id.is_(None),
    )


def case_points(session: Session, selection: Selection, unit: UnitInfo | None) -> ReportPoints:
    """The store's cases as report points (one query, no per-row Python work)."""
    conditions = selection_conditions(selection, unit)
    base = select(Case.h3_cell, Case.reported_at, Category.code).join(
        Category, Category.id == Case.category_id
    )
    rows = session.execute(base.where(*conditions, counted_cases())).all()
    frame = pd.DataFrame(rows, columns=["cell", "at", "category"])
    if selection.hours is None:
        excluded = session.scalar(
            select(func.count())
            .select_from(Case)
            .join(Category, Category.id == Case.category_id)
            .where(*conditions, not_(counted_cases()))
        )
    else:  # the hours of the day are local: kept in numpy, the same on both backends
        frame = frame[_in_hours(selection, frame["at"])]
        left_out = session.scalars(
            select(Case.reported_at)
            .join(Category, Category.id == Case.category_id)
            .where(*conditions, not_(counted_cases()))
        ).all()
        excluded = int(_in_hours(selection, pd.Series(left_out, dtype=object)).sum())
    return ReportPoints(
        SOURCE_CASES,
        frame["cell"].to_numpy(dtype=np.int64).astype(np.uint64),
        as_datetime64(pd.to_datetime(frame["at"], utc=True)) if len(frame) else _no_times(),
        frame["category"].to_numpy(dtype=object),
        int(excluded or 0),
    )


def _in_hours(selection: Selection, at: pd.Series) -> NDArray[np.bool_]:
    if selection.hours is None or len(at) == 0:
        return np.ones(len(at), dtype=bool)
    return selection.hours.keep(as_datetime64(pd.to_datetime(at, utc=True)))


def _no_times() -> NDArray[np.datetime64]:
    return np.empty(0, dtype="datetime64[ns]")
