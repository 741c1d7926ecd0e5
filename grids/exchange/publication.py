"""What of a case the public may see (Open311's public listings), and releasing free text.

The rule of the public map, applied to single cases:

- **Positions** are coarsened to the centre of the case's H3 cell at
  :data:`PUBLIC_RES` (8: about 0.74 km², 460 m a side), never the reported point.
- **A case in a cell with fewer than k cases is not listed at all** (k is
  ``GRIDWATCH_PUBLIC_MIN_REPORTS``, the public map's minimum, 5 by default);
  the cell's count is over every case of the store, so no filter of a query
  can single a case out.
- **Free text** that may name people — the description, the address, a media
  URL — is left out unless a dispatcher or an admin released it
  (``POST /api/v1/cases/{id}/publish``, the lifecycle action ``publish``,
  audited like every other change); what is released is the text as it stood
  then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import h3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.cases.models import Case

PUBLIC_RES = 8
"""H3 resolution of the positions in public listings (about 0.74 km² a cell)."""
_KEY_DIVISOR = 1 << (3 * (15 - PUBLIC_RES))  # an H3 index keeps 3 bits per digit, 15 digits
RELEASED_FIELDS = ("description", "address_string", "media_url")


def cell_key(h3_cell: int) -> int:
    """A number shared by every stored cell (all at one resolution, 12) of one res-8 cell:
    the index with the digits finer than res 8 dropped, which SQL computes with an integer
    division on both backends."""
    return int(h3_cell) // _KEY_DIVISOR


def public_position(h3_cell: int) -> tuple[float, float]:
    """The centre of the case's cell at :data:`PUBLIC_RES` (lat, lon)."""
    parent = h3.cell_to_parent(h3.int_to_str(int(h3_cell)), PUBLIC_RES)
    lat, lon = h3.cell_to_latlng(parent)
    return round(lat, 6), round(lon, 6)


def listable(session: Session, cases: Iterable[Case], min_cases: int) -> list[Case]:
    """The cases whose res-8 cell holds at least ``min_cases`` cases of the store."""
    cases = list(cases)
    keys = {cell_key(c.h3_cell) for c in cases}
    if not keys:
        return []
    key = Case.h3_cell // _KEY_DIVISOR
    counts: dict[int, int] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):  # bounded IN lists
        chunk = ordered[start : start + 500]
        rows = session.execute(select(key, func.count()).where(key.in_(chunk)).group_by(key)).all()
        counts |= {int(k): int(n) for k, n in rows}
    return [c for c in cases if counts.get(cell_key(c.h3_cell), 0) >= min_cases]


def released(item: Case) -> dict[str, Any]:
    """The free text a moderator released for the public (empty when none was)."""
    value = (item.attributes or {}).get("released")
    return value if isinstance(value, dict) else {}


def release(item: Case, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The column changes and audit data of releasing the case's free text as it stands
    (the audit row says who released it)."""
    attributes = item.attributes or {}
    texts = {"description": item.description or None} | {
        name: attributes.get(name) or None for name in RELEASED_FIELDS[1:]
    }
    shown = {name: text for name, text in texts.items() if text}
    entry = {**shown, "at": now.isoformat()}
    return {"attributes": {**attributes, "released": entry}}, {"released": sorted(shown)}
