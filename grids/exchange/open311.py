"""Open311 GeoReport v2: cases as service requests, categories as services, and an
importer for other cities' Open311 data (JSON or XML).

Internal states map to the two of the standard: ``closed`` for resolved,
closed and rejected cases, ``open`` for the rest; ``status_notes`` carries the
latest public note and ``expected_datetime`` the close deadline. The listings
are public: positions, free text and small cells follow
:mod:`grids.exchange.publication`.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.errors import GeoInputError
from grids.cases.intake import CaseConfig, NewReport, OutsideServiceArea, create_case
from grids.cases.lifecycle import Action, apply_action
from grids.cases.models import Case, CaseEvent
from grids.city.locator import GridLocator
from grids.city.models import Category, Department
from grids.db import utcnow
from grids.errors import ImportRefused, InvalidInput
from grids.exchange.publication import public_position, released

CLOSED_STATES = ("resolved", "closed", "rejected")
ATTRIBUTES = [
    {
        "variable": True,
        "code": "urgency",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": None,
        "order": 1,
        "description": "How urgent is it? / 紧急程度",
        "values": [
            {"key": "low", "name": "Low / 一般"},
            {"key": "normal", "name": "Normal / 较急"},
            {"key": "high", "name": "High / 紧急"},
        ],
    },
    {
        "variable": True,
        "code": "landmark",
        "datatype": "string",
        "required": False,
        "datatype_description": "A nearby building, shop or sign",
        "order": 2,
        "description": "Nearby landmark / 附近地标",
        "values": [],
    },
]


def services(session: Session) -> list[dict[str, Any]]:
    """The categories as Open311 services, grouped by handling department."""
    rows = session.execute(
        select(Category, Department)
        .join(Department, Department.id == Category.department_id)
        .order_by(Department.code, Category.code)
    ).all()
    return [
        {
            "service_code": cat.code,
            "service_name": f"{cat.name} / {cat.name_en}" if cat.name_en else cat.name,
            "description": f"{cat.name_en or cat.name}: handled by {dept.name_en or dept.name}",
            "metadata": True,
            "type": "realtime",
            "keywords": cat.group,
            "group": dept.name_en or dept.name,
        }
        for cat, dept in rows
    ]


def service_definition(session: Session, code: str) -> dict[str, Any] | None:
    if session.scalar(select(Category).where(Category.code == code)) is None:
        return None
    return {"service_code": code, "attributes": ATTRIBUTES}


def as_request(session: Session, item: Case) -> dict[str, Any]:
    """A case as a public Open311 service request: its position coarsened to its cell's
    centre, free text only as a moderator released it (:mod:`grids.exchange.publication`)."""
    category = session.get(Category, item.category_id)
    department = session.get(Department, item.department_id) if item.department_id else None
    assert category is not None
    note = session.scalar(
        select(CaseEvent.public_note)
        .where(CaseEvent.case_id == item.id, CaseEvent.public_note != "")
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    routing = item.routing or {}
    grid = routing.get("grid") or {}
    town = routing.get("town") or {}
    lat, lon = public_position(item.h3_cell)
    text = released(item)
    return {
        "service_request_id": str(item.id),
        "status": "closed" if item.status in CLOSED_STATES else "open",
        "status_notes": note or None,
        "service_name": category.name,
        "service_code": category.code,
        "description": text.get("description"),
        "agency_responsible": department.name if department else None,
        "service_notice": f"{town.get('name', '')} {grid.get('name', '')}".strip() or None,
        "requested_datetime": _iso(item.reported_at),
        "updated_datetime": _iso(item.updated_at),
        "expected_datetime": _iso(item.close_due),
        "address": text.get("address_string"),
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": text.get("media_url"),
    }


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def read_requests(path: str | Path) -> list[dict[str, Any]]:
    """Service requests from an Open311 JSON array or XML ``<service_requests>`` file."""
    path = Path(path)
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ImportRefused(f"{path}: the file is empty")
    if text.lstrip().startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise ImportRefused(f"{path}: not well-formed XML ({exc})") from exc
        return [
            {child.tag: (child.text or "").strip() or None for child in request}
            for request in root.iter("request")
        ]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, list):
        raise ImportRefused(f"{path}: expected a JSON array of service requests")
    return data


@dataclass(frozen=True)
class Refusal:
    """A row of an import file that was not imported, and why."""

    row: int
    ident: str
    reason: str


@dataclass
class ImportResult:
    """What an import did: rows imported, already there (an earlier run), refused."""

    imported: int = 0
    already: int = 0
    refused: list[Refusal] = field(default_factory=list)

    def summary(self, limit: int = 20) -> str:
        """A line of counts (refusals by reason) and the first refused rows."""
        reasons = Counter(r.reason.split(":")[0] for r in self.refused)
        why = "; ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        lines = [
            f"{self.imported} imported, {self.already} already there, "
            f"{len(self.refused)} refused" + (f" ({why})" if why else "")
        ]
        lines += [f"  row {r.row} ({r.ident}): {r.reason}" for r in self.refused[:limit]]
        if len(self.refused) > limit:
            lines.append(f"  … and {len(self.refused) - limit} more")
        return "\n".join(lines)


def import_requests(
    session: Session,
    locator: GridLocator,
    config: CaseConfig,
    path: str | Path,
    *,
    source: str,
    default_category: str,
    category_map: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import another system's requests as cases, by the rules of intake.

    Each row goes through :func:`grids.cases.intake.create_case` as a report made at
    its own ``requested_datetime``: a point outside the service area, an unknown
    category or a time beyond the horizon is refused and reported (row, reason),
    nothing of it written. A request closed there is closed here at its
    ``updated_datetime`` (lifecycle action ``import_closed``); one still open is
    ours from ``now`` on (``import_open``: its deadlines count from the import), never
    overdue work of years ago. Rows imported before (same source and id) are left.
    """
    category_map = category_map or {}
    now = now or utcnow()
    result = ImportResult()
    for n, request in enumerate(read_requests(path), start=1):
        ident = str(request.get("service_request_id") or f"row-{n}")
        exists = session.scalar(
            select(Case.id).where(Case.external_source == source, Case.external_id == ident)
        )
        if exists is not None:
            result.already += 1
            continue
        try:
            with session.begin_nested():
                _import_one(
                    session,
                    locator,
                    config,
                    request,
                    source,
                    ident,
                    now,
                    category_map,
                    default_category,
                )
        except (InvalidInput, GeoInputError) as refused:
            result.refused.append(Refusal(n, ident, str(refused)))
            continue
        result.imported += 1
    session.flush()
    return result


def _import_one(
    session: Session,
    locator: GridLocator,
    config: CaseConfig,
    request: dict[str, Any],
    source: str,
    ident: str,
    now: dt.datetime,
    category_map: dict[str, str],
    default_category: str,
) -> None:
    try:
        lat, lon = float(request["lat"]), float(request["long"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("no coordinates: lat/long missing (addresses are not geocoded)") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise InvalidInput(f"unusable coordinates: ({lat}, {lon})")
    requested = _parse_time(request.get("requested_datetime"))
    if requested is None:
        raise InvalidInput("no time: requested_datetime is missing or not a date-time")
    if requested > now:
        raise InvalidInput(f"a future time: requested_datetime {requested.isoformat()}")
    report = NewReport(
        lat=lat,
        lon=lon,
        category=category_map.get(str(request.get("service_code")), default_category),
        description=str(request.get("description") or "")[:4000],
        occurred_at=requested,
        source="import",
        attributes={
            "service_name": request.get("service_name"),
            "address_string": request.get("address"),
            "media_url": request.get("media_url") or None,
            "agency_responsible": request.get("agency_responsible"),
        },
    )
    try:
        item = create_case(
            session, locator, config, report, user=None, now=requested, external=(source, ident)
        )
    except OutsideServiceArea as exc:
        raise InvalidInput(f"outside the service area: {exc}") from exc
    closed = str(request.get("status", "")).lower() == "closed"
    updated = _parse_time(request.get("updated_datetime")) or requested
    action = Action(
        name="import_closed" if closed else "import_open",
        note=f"{'closed' if closed else 'open'} in {source} (request {ident})",
        public_note=str(request.get("status_notes") or "") or None,
    )
    when = min(max(updated, requested), now) if closed else now
    apply_action(session, locator.directory, config, item, action, user=None, now=when)


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    text = str(value).strip().replace(" ", "T")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
