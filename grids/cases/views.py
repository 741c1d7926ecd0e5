"""Cases as the API shows them: the case itself and its audit log, per viewer, and a
reporter's own reports with each step in plain words."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter
from grids.accounts.reporters import OwnReports
from grids.cases.models import Case, CaseEvent, Photo
from grids.cases.queries import own_conditions
from grids.cases.rewards import rewards_of
from grids.city.models import Category, Department
from grids.db import utcnow
from grids.limits import shown_attributes

M = TypeVar("M", Reporter, Category, Department)


def case_view(
    session: Session, item: Case, *, viewer_role: str, base_url: str = ""
) -> dict[str, Any]:
    """A case as the API shows it; the reporter's identity and contact only to an admin."""
    return case_views(session, [item], viewer_role=viewer_role, base_url=base_url)[0]


def case_views(
    session: Session, items: Sequence[Case], *, viewer_role: str, base_url: str = ""
) -> list[dict[str, Any]]:
    """Cases as :func:`case_view` shows each, with what they refer to read in one query per
    kind (reporters, categories, departments, photos, rewards): a page of the queue asks
    six questions, not six per case."""
    ids = [item.id for item in items]
    reporters = _by_id(session, Reporter, {i.reporter_id for i in items})
    categories = _by_id(session, Category, {i.category_id for i in items})
    departments = _by_id(session, Department, {i.department_id for i in items})
    photos: dict[int, list[Photo]] = defaultdict(list)
    if ids:
        for photo in session.scalars(
            select(Photo).where(Photo.case_id.in_(ids)).order_by(Photo.id)
        ):
            photos[photo.case_id].append(photo)
    rewards = rewards_of(session, ids)
    return [
        _view(
            item,
            reporter=reporters.get(item.reporter_id) if item.reporter_id else None,
            category=categories[item.category_id],
            department=departments.get(item.department_id) if item.department_id else None,
            photos=photos[item.id],
            reward=rewards.get(item.id),
            viewer_role=viewer_role,
            base_url=base_url,
        )
        for item in items
    ]


def _by_id(session: Session, model: type[M], ids: set[int | None]) -> dict[int, M]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _view(
    item: Case,
    *,
    reporter: Reporter | None,
    category: Category,
    department: Department | None,
    photos: list[Photo],
    reward: dict[str, Any] | None,
    viewer_role: str,
    base_url: str,
) -> dict[str, Any]:
    reporter_view: dict[str, Any] | None = None
    if viewer_role == "admin" and (reporter is not None or item.contact):
        contact = item.contact or {}
        reporter_view = {
            "pseudonym": reporter.pseudonym if reporter else None,
            "id": reporter.external_id if reporter and reporter.external_id else contact.get("id"),
            "name": contact.get("name"),
            "phone": contact.get("phone"),
        }
    elif reporter is not None:
        reporter_view = {"pseudonym": reporter.pseudonym}
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
        "routing": item.routing,
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
        "reward": reward,
        "photos": [
            {"id": p.id, "kind": p.kind, "url": f"{base_url}/api/v1/cases/{item.id}/photos/{p.id}"}
            for p in photos
        ],
        "attributes": shown_attributes(item.attributes),
    }


def history(
    session: Session, item: Case, *, public: bool, after_event: int = 0
) -> list[dict[str, Any]]:
    """The audit rows of a case, oldest first; the public view shows plain-words notes only."""
    rows = session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == item.id, CaseEvent.id > after_event)
        .order_by(CaseEvent.id)
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


def my_cases(session: Session, own: OwnReports, *, limit: int = 200) -> list[dict[str, Any]]:
    """A reporter's own reports, newest first, each step once and the reward if any.

    A report merged as a duplicate shows its own steps up to the merge, then the
    original's from then on, and the original's state.
    """
    rows = session.scalars(
        select(Case).where(*own_conditions(own)).order_by(Case.id.desc()).limit(limit)
    ).all()
    rewards = rewards_of(session, [item.id for item in rows])
    out = []
    for item in rows:
        steps = history(session, item, public=True)
        status = item.status
        original = session.get(Case, item.duplicate_of_id) if item.duplicate_of_id else None
        if original is not None:
            merged_at = session.scalar(
                select(CaseEvent.id)
                .where(CaseEvent.case_id == item.id, CaseEvent.action.in_(("merge", "repoint")))
                .order_by(CaseEvent.id.desc())
                .limit(1)
            )
            steps += history(session, original, public=True, after_event=merged_at or 0)
            status = original.status
        category = session.get(Category, item.category_id)
        assert category is not None
        out.append(
            {
                "id": item.id,
                "category": {"code": category.code, "name": category.name},
                "description": item.description,
                "reported_at": _iso(item.reported_at),
                "status": status,
                "duplicate_of": item.duplicate_of_id,
                "reward": rewards.get(item.id),
                "steps": steps,
            }
        )
    return out


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")
