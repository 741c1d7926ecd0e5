"""Open311 GeoReport v2: cases as service requests, categories as services, and an
importer for other cities' Open311 data (JSON or XML).

Internal states map to the two of the standard: ``closed`` for resolved,
closed and rejected cases, ``open`` for the rest; ``status_notes`` carries the
latest public note and ``expected_datetime`` the close deadline.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.cases.intake import CaseConfig, NewReport, add_event, create_case
from grids.cases.models import Case, CaseEvent
from grids.city.locator import GridLocator
from grids.city.models import Category, Department
from grids.errors import ImportRefused
from grids.limits import shown_attributes

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
    """A case as an Open311 service request."""
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
    attributes = shown_attributes(item.attributes)
    grid = routing.get("grid") or {}
    town = routing.get("town") or {}
    return {
        "service_request_id": str(item.id),
        "status": "closed" if item.status in CLOSED_STATES else "open",
        "status_notes": note or None,
        "service_name": category.name,
        "service_code": category.code,
        "description": item.description or None,
        "agency_responsible": department.name if department else None,
        "service_notice": f"{town.get('name', '')} {grid.get('name', '')}".strip() or None,
        "requested_datetime": _iso(item.reported_at),
        "updated_datetime": _iso(item.updated_at),
        "expected_datetime": _iso(item.close_due),
        "address": attributes.get("address_string"),
        "address_id": None,
        "zipcode": None,
        "lat": item.lat,
        "long": item.lon,
        "media_url": attributes.get("media_url") or None,
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


def import_requests(
    session: Session,
    locator: GridLocator,
    config: CaseConfig,
    path: str | Path,
    *,
    source: str,
    default_category: str,
    category_map: dict[str, str] | None = None,
) -> tuple[int, int, list[str]]:
    """Import another system's requests as cases (kept with their original id and status).

    Returns (imported, skipped as already imported, problems). Requests without
    coordinates are reported and skipped; points outside the city go to the
    city dispatch queue like any other.
    """
    category_map = category_map or {}
    imported = skipped = 0
    problems: list[str] = []
    for n, request in enumerate(read_requests(path), start=1):
        ident = str(request.get("service_request_id") or f"row-{n}")
        exists = session.scalar(
            select(Case.id).where(Case.external_source == source, Case.external_id == ident)
        )
        if exists is not None:
            skipped += 1
            continue
        try:
            lat, lon = float(request["lat"]), float(request["long"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"{ident}: no lat/long")
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            problems.append(f"{ident}: unusable coordinates ({lat}, {lon})")
            continue
        requested = _parse_time(request.get("requested_datetime"))
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
        item = create_case(
            session,
            locator,
            config,
            report,
            user=None,
            now=requested or None,
            external=(source, ident),
            allow_outside=True,
        )
        if str(request.get("status", "")).lower() == "closed":
            updated = _parse_time(request.get("updated_datetime")) or item.reported_at
            item.status, item.closed_at, item.next_due, item.updated_at = (
                "closed",
                updated,
                None,
                updated,
            )
            add_event(
                session,
                item,
                "import",
                "routed",
                "closed",
                actor_user=None,
                actor_role="system",
                note=f"closed in {source}",
                public_note=str(request.get("status_notes") or ""),
            )
        imported += 1
    session.flush()
    return imported, skipped, problems


def _parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    text = str(value).strip().replace(" ", "T")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
