"""Cases as the API shows them: the case itself and its audit log, per viewer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter
from grids.cases.models import Case, CaseEvent, Photo
from grids.city.models import Category, Department, Person
from grids.db import utcnow


def case_view(
    session: Session, item: Case, *, viewer_role: str, base_url: str = ""
) -> dict[str, Any]:
    """A case as the API shows it; the reporter's identity only to an admin."""
    reporter = session.get(Reporter, item.reporter_id) if item.reporter_id else None
    category = session.get(Category, item.category_id)
    department = session.get(Department, item.department_id) if item.department_id else None
    officer = session.get(Person, item.officer_id) if item.officer_id else None
    photos = session.scalars(select(Photo).where(Photo.case_id == item.id).order_by(Photo.id)).all()
    routing = dict(item.routing)
    routing["officer"] = {"code": officer.code, "name": officer.name} if officer else None
    reporter_view: dict[str, Any] | None = None
    if reporter is not None:
        reporter_view = {"pseudonym": reporter.pseudonym}
        if viewer_role == "admin":
            reporter_view |= {
                "id": reporter.external_id,
                "name": reporter.name,
                "phone": reporter.phone,
            }
    assert category is not None
    return {
        "id": item.id,
        "status": item.status,
        "version": item.version,
        "category": {"code": category.code, "name": category.name, "name_en": category.name_en},
        "department": {"code": department.code, "name": department.name} if department else None,
        "description": item.description,
        "source": item.source,
        "lat": item.lat,
        "lon": item.lon,
        "h3_cell": format(item.h3_cell, "x"),
        "occurred_at": _iso(item.occurred_at),
        "reported_at": _iso(item.reported_at),
        "updated_at": _iso(item.updated_at),
        "routing": routing,
        "escalation_level": item.escalation_level,
        "deadlines": {
            "acknowledge": _iso(item.ack_due),
            "verify": _iso(item.verify_due),
            "close": _iso(item.close_due),
            "next": _iso(item.next_due) if item.next_due else None,
            "overdue": bool(item.next_due and item.next_due < utcnow()),
            "missed": [m for m in item.missed.split(",") if m],
        },
        "reporter": reporter_view,
        "possible_duplicate_of": item.possible_duplicate_of_id,
        "duplicate_of": item.duplicate_of_id,
        "reject_reason": item.reject_reason,
        "photos": [
            {"id": p.id, "kind": p.kind, "url": f"{base_url}/api/v1/cases/{item.id}/photos/{p.id}"}
            for p in photos
        ],
        "attributes": item.attributes,
    }


def history(session: Session, item: Case, *, public: bool) -> list[dict[str, Any]]:
    """The audit rows of a case, oldest first; the public view shows plain-words notes only."""
    rows = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == item.id).order_by(CaseEvent.id)
    ).all()
    if public:
        return [
            {"at": _iso(r.at), "status": r.to_status, "note": r.public_note}
            for r in rows
            if r.public_note
        ]
    return [
        {
            "id": r.id,
            "at": _iso(r.at),
            "action": r.action,
            "actor_user_id": r.actor_user_id,
            "actor_role": r.actor_role,
            "from": r.from_status,
            "to": r.to_status,
            "note": r.note,
            "public_note": r.public_note,
            "position": {"lat": r.lat, "lon": r.lon} if r.lat is not None else None,
            "data": r.data,
        }
        for r in rows
    ]


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")
