"""The limits of what gridwatch accepts, in one place, the same on both backends.

Every door checks its input against these before anything is stored: the JSON
API and Open311 through the intake (:func:`check_report`), every other write at
the store's flush (:func:`check_row`: a string longer than its column, or with a
NUL character, is refused on SQLite as it would fail on PostgreSQL). The API
documents them in its schema (``api/params.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from zoneinfo import ZoneInfo

from grids.errors import InvalidInput

MAX_ID = 2**31 - 1
"""Ids are 32-bit integers on PostgreSQL: a larger one names nothing."""

EARLIEST = dt.datetime(1970, 1, 1)
LATEST = dt.datetime(2100, 1, 1)
"""Dates and times outside [EARLIEST, LATEST) are refused (naive bounds, any zone)."""

ATTRIBUTES_MAX_BYTES = 8 * 1024
ATTRIBUTES_MAX_DEPTH = 3
ATTRIBUTES_MAX_KEY = 64
"""A report's ``attributes``: at most 8 KB as JSON, objects and lists at most three deep
(``{"a": {"b": [1]}}``), keys at most 64 characters, values scalars (text, numbers,
true/false, null) or such containers."""

DESCRIPTION_MAX = 4000
NAME_MAX = 200
PHONE_MAX = 32
EXTERNAL_ID_MAX = 200
IDEMPOTENCY_KEY_MAX = 200
"""Text of a report: its description, the reporter's name, phone and app or Open311 id."""

JSON_MAX_DEPTH = 32
"""Bodies nest at most this deep; deeper ones are refused before they are parsed."""

PHOTO_MAX_PIXELS = 50_000_000
"""Photos larger than this (width x height, e.g. 8660 x 5773) are refused before decoding."""
PHOTO_KIND_MAX = 16
"""A photo's kind (report, resolution, ...): the length of its column."""


def parse_id(text: str) -> int | None:
    """An id given as text: ASCII digits within :data:`MAX_ID`, else None (names nothing)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def check_instant(value: dt.datetime, name: str = "time") -> dt.datetime:
    """Refuse a time outside [EARLIEST, LATEST) (before any zone conversion could overflow)."""
    naive = value.replace(tzinfo=None)
    if not EARLIEST <= naive < LATEST:
        where = "in the past" if naive < EARLIEST else "in the future"
        raise InvalidInput(
            f"{name} {value.isoformat()} is too far {where}; give a time from "
            f"{EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d}"
        )
    return value


def check_day(value: dt.date, name: str = "date") -> dt.date:
    """Refuse a day outside [EARLIEST, LATEST)."""
    if not EARLIEST.date() <= value < LATEST.date():
        raise InvalidInput(
            f"{name} {value.isoformat()} is out of range; give a day from "
            f"{EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d}"
        )
    return value


def as_utc(
    value: dt.datetime | None, tz: str | dt.tzinfo, name: str = "time"
) -> dt.datetime | None:
    """An aware UTC time in range; a naive one is the city's local time (``tz``)."""
    if value is None:
        return None
    check_instant(value, name)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz) if isinstance(tz, str) else tz)
    return value.astimezone(dt.UTC)


def check_text(value: str | None, name: str, max_length: int | None = None) -> None:
    """Refuse text longer than ``max_length`` characters or holding a NUL character."""
    if value is None:
        return
    if "\x00" in value:
        raise InvalidInput(f"{name} contains a NUL character (\\u0000); remove it")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters ({len(value)})")


def attributes_problem(value: Any) -> str | None:
    """What is wrong with a report's ``attributes`` (see the limits above), or None.

    Walks without recursion and stops at the first problem, so a deeply nested or
    huge value costs no more than the limits allow.
    """
    if not isinstance(value, dict):
        return "attributes must be an object"
    size = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > ATTRIBUTES_MAX_DEPTH:
                return f"attributes nest deeper than {ATTRIBUTES_MAX_DEPTH} levels"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str):
                    if len(key) > ATTRIBUTES_MAX_KEY:
                        return f"attribute key {key[:20]!r}… is longer than {ATTRIBUTES_MAX_KEY}"
                    if "\x00" in key:
                        return "an attribute key contains a NUL character"
                    size += len(key.encode()) + 4
                stack.append((child, depth + 1))
                size += 2
                if size > ATTRIBUTES_MAX_BYTES:
                    break
        elif isinstance(node, str):
            if "\x00" in node:
                return "an attribute value contains a NUL character"
            size += len(node.encode()) + 2
        elif isinstance(node, float) and not math.isfinite(node):
            return "attribute values must be finite numbers"
        elif node is None or isinstance(node, bool | int | float):
            size += len(json.dumps(node))
        else:
            return f"attribute values must be text, numbers, true/false or null, not {node!r}"
        if size > ATTRIBUTES_MAX_BYTES:
            return f"attributes are larger than {ATTRIBUTES_MAX_BYTES // 1024} KB as JSON"
    return None


def check_attributes(value: Any) -> None:
    """Refuse ``attributes`` beyond the limits, saying which."""
    problem = attributes_problem(value)
    if problem is not None:
        raise InvalidInput(problem)


def shown_attributes(value: Any) -> dict[str, Any]:
    """Attributes as a view shows them: as stored when within the limits, else a note (a
    record stored before the limits must not break the queue that lists it)."""
    problem = attributes_problem(value)
    if problem is None:
        return dict(value)
    return {"_withheld": f"not shown: {problem}"}


def nul_in(value: Any) -> bool:
    """Whether a JSON-like value holds a NUL character in any string (walked without
    recursion)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False
