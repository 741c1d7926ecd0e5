"""Parameter types of the routes, built from the limits of ``grids.limits``: ids within 32
bits, times in ISO 8601 within the accepted years, so the schema documents the limits and
a value past them is a 422 that says why."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field

from grids.errors import InvalidInput
from grids.limits import MAX_ID, check_day, check_instant


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text (or a datetime): pydantic would read ``0.5`` as a Unix time."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("give an ISO 8601 date or time, e.g. 2026-11-01T08:00:00+08:00")
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T08:00+08:00"
        ) from exc


def _in_range(value: dt.datetime) -> dt.datetime:
    try:
        return check_instant(value, "the time")
    except InvalidInput as exc:
        raise ValueError(str(exc)) from exc


Instant = Annotated[
    dt.datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_range),
]
"""A point in time as the API takes it; routes pass it through ``grids.limits.as_utc``."""


def _day_in_range(value: dt.date) -> dt.date:
    try:
        return check_day(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from exc


Day = Annotated[dt.date, AfterValidator(_day_in_range)]
"""A calendar day, YYYY-MM-DD, within the accepted years."""

IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
VersionValue = Annotated[int, Field(ge=0, le=MAX_ID)]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's id")]
PhotoId = Annotated[int, Path(ge=1, le=MAX_ID, description="The photo's id")]
