"""The state machine of a case and the actions that move it.

    routed → acknowledged → verified → in_progress → resolved → closed
                       ↘ rejected (invalid / duplicate / not_ours)
    resolved, closed, rejected → routed (reopen)
    open cases → routed again on reassign; escalate keeps the state

Every change is a compare-and-swap on ``version`` (one of two concurrent
changes wins, the other gets :class:`Conflict`), writes one audit row, and
records its webhook deliveries, all in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.cases.intake import CaseConfig, add_event, require_role
from grids.cases.models import Case, CaseEvent
from grids.cases.rewards import award
from grids.cases.webhooks import enqueue
from grids.city.directory import Directory
from grids.city.dispatch import next_rung
from grids.city.models import Department
from grids.db import utcnow
from grids.errors import GridwatchError, InvalidInput, NotFound
from grids.events import publish

ACTING_ROLES = ("officer", "dispatcher", "admin")
DISPATCH_ROLES = ("dispatcher", "admin")
REJECT_REASONS = ("invalid", "duplicate", "not_ours")
UNVERSIONED = ("message", "photo")
"""Audit rows of what leaves the case's version as it is (a message, a photo)."""

# action: (states it may start from, roles allowed)
ALLOWED: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "acknowledge": (frozenset({"routed"}), ACTING_ROLES),
    "verify": (frozenset({"acknowledged"}), ACTING_ROLES),
    "start": (frozenset({"verified"}), ACTING_ROLES),
    "resolve": (frozenset({"in_progress"}), ACTING_ROLES),
    "close": (frozenset({"resolved"}), DISPATCH_ROLES),
    "reopen": (frozenset({"resolved", "closed", "rejected"}), DISPATCH_ROLES),
    "reassign": (frozenset({"routed", "acknowledged", "verified", "in_progress"}), DISPATCH_ROLES),
    "escalate": (frozenset({"routed", "acknowledged", "verified", "in_progress"}), DISPATCH_ROLES),
    "merge": (frozenset({"routed", "acknowledged", "verified"}), DISPATCH_ROLES),
}

PUBLIC_NOTES = {
    "acknowledged": "网格员已受理 / the grid officer has taken your report",
    "verified": "经核实，情况属实 / verified on site",
    "rejected": "经核实，不予立案 / not taken up after checking",
    "in_progress": "正在处置 / being handled",
    "resolved": "已处置完毕 / handled",
    "closed": "已办结，感谢您的参与 / closed, thank you",
    "routed": "已重新分派 / assigned again",
}


class Conflict(GridwatchError):
    """A transition from the wrong state, or a change that lost a race (HTTP 409)."""


class StaleVersion(Conflict):
    """A change sent for a version the case has left: who changed it, and when."""

    def __init__(self, message: str, *, version: int, changed_by: str, changed_at: str) -> None:
        super().__init__(message)
        self.body = {"version": version, "changed_by": changed_by, "changed_at": changed_at}


def stale(session: Session, item: Case, sent: int) -> StaleVersion:
    """The conflict of a change that lost a race, naming the last change from the audit log."""
    last = session.execute(
        select(CaseEvent, User.name)
        .outerjoin(User, User.id == CaseEvent.actor_user_id)
        .where(CaseEvent.case_id == item.id, CaseEvent.action.not_in(UNVERSIONED))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    by = (last[1] or last[0].actor_role) if last else "someone"
    at = last[0].at.isoformat(timespec="seconds") if last else ""
    return StaleVersion(
        f"case {item.id} was changed by {by} at {at} (now version {item.version}, you had "
        f"{sent}); reload it and try again",
        version=item.version,
        changed_by=by,
        changed_at=at,
    )


@dataclass(frozen=True)
class Action:
    """What the actor sends with an action."""

    name: str
    expected_version: int | None = None
    note: str = ""
    public_note: str | None = None
    lat: float | None = None
    lon: float | None = None
    valid: bool | None = None
    reason: str | None = None
    officer: str | None = None
    grid: str | None = None
    department: str | None = None
    duplicate_of: int | None = None
    deadline: str | None = None  # set by the escalation checker: which deadline was missed


def apply_action(
    session: Session,
    directory: Directory,
    config: CaseConfig,
    item: Case,
    action: Action,
    *,
    user: User | None,
    now: dt.datetime | None = None,
) -> Case:
    """Check and apply one action to a case the user may see; the caller commits."""
    now = now or utcnow()
    if action.name not in ALLOWED:
        raise InvalidInput(f"unknown action {action.name!r}; use one of {sorted(ALLOWED)}")
    states, roles = ALLOWED[action.name]
    if user is not None:
        require_role(user, *roles)
    if action.expected_version is not None and action.expected_version != item.version:
        raise stale(session, item, action.expected_version)  # first: who got there before
    if item.status not in states:
        raise Conflict(
            f"cannot {action.name} a case that is {item.status}; "
            f"{action.name} needs one of {sorted(states)}"
        )
    before = item.status
    changes, to_status, data = _plan(session, directory, item, action, now)
    changes |= {"status": to_status, "updated_at": now, "version": item.version + 1}
    result = session.execute(
        update(Case)
        .where(Case.id == item.id, Case.version == item.version)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        seen = item.version
        session.refresh(item)
        raise stale(session, item, seen)
    session.refresh(item)
    public = (
        action.public_note if action.public_note is not None else PUBLIC_NOTES.get(to_status, "")
    )
    if action.name == "escalate":
        public = ""
    add_event(
        session,
        item,
        action.name,
        before,
        to_status,
        actor_user=user,
        actor_role=user.role if user else "system",
        note=action.note,
        public_note=public if to_status != before or action.public_note else "",
        lat=action.lat,
        lon=action.lon,
        data=data,
        at=now,
    )
    if action.name == "verify" and action.valid:
        entry = award(session, config, item, now=now)
        if entry is not None:
            data["reward"] = {"yuan": str(entry.amount_yuan), "points": entry.points}
    enqueue(
        session,
        config.webhooks,
        f"case.{action.name}",
        {"case_id": item.id, "from": before, "to": to_status, "version": item.version},
    )
    publish(
        session,
        "case.escalated" if action.name == "escalate" else "case.changed",
        case=item,
        data={"action": action.name, "from": before, "by": user.name if user else "system"},
    )
    return item


def _plan(
    session: Session, directory: Directory, item: Case, action: Action, now: dt.datetime
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The column changes, target state and audit data of an action."""
    name = action.name
    if name == "acknowledge":
        return {"acknowledged_at": now, "next_due": item.verify_due}, "acknowledged", {}
    if name == "verify":
        if action.valid is None:
            raise InvalidInput("verify needs valid: true or false")
        if action.lat is None or action.lon is None:
            raise InvalidInput("verify needs the officer's position: lat and lon")
        if action.valid:
            return {"verified_at": now, "next_due": item.close_due}, "verified", {}
        if action.reason not in REJECT_REASONS:
            raise InvalidInput(f"an invalid report needs a reason: one of {list(REJECT_REASONS)}")
        return (
            {"verified_at": now, "next_due": None, "reject_reason": action.reason},
            "rejected",
            {"reason": action.reason},
        )
    if name == "start":
        return {}, "in_progress", {}
    if name == "resolve":
        if not action.note:
            raise InvalidInput("resolve needs a note saying what was done")
        return {"resolved_at": now, "next_due": None}, "resolved", {}
    if name == "close":
        return {"closed_at": now, "next_due": None}, "closed", {}
    if name == "reopen":
        return (
            {
                "closed_at": None,
                "resolved_at": None,
                "reject_reason": None,
                "duplicate_of_id": None,
                "next_due": item.close_due if item.close_due > now else now,
            },
            "routed",
            {},
        )
    if name == "reassign":
        return _reassign(session, directory, item, action)
    if name == "escalate":
        return _escalate(
            directory,
            item,
            reason=action.note or "escalated by dispatcher",
            deadline=action.deadline,
        )
    if name == "merge":
        if action.duplicate_of is None or action.duplicate_of == item.id:
            raise InvalidInput("merge needs duplicate_of: the id of the original case")
        original = session.get(Case, action.duplicate_of)
        if original is None:
            raise NotFound(f"no case {action.duplicate_of}")
        if original.category_id != item.category_id:
            raise InvalidInput("a duplicate must be of the same category as the original")
        return (
            {"duplicate_of_id": original.id, "reject_reason": "duplicate", "next_due": None},
            "rejected",
            {"duplicate_of": original.id},
        )
    raise InvalidInput(f"unknown action {name!r}")  # pragma: no cover - ALLOWED guards


def _reassign(
    session: Session, directory: Directory, item: Case, action: Action
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    if action.grid:
        unit = directory.units_by_code.get(action.grid)
        if unit is None or unit.level != "grid":
            raise InvalidInput(f"no grid {action.grid!r}")
        changes |= {
            "grid_id": unit.id,
            "community_id": (c.id if (c := directory.ancestor(unit.id, "community")) else None),
            "town_id": (t.id if (t := directory.ancestor(unit.id, "town")) else None),
            "assignee_kind": "officer" if action.officer else "community",
            "assignee_unit_id": unit.id,
        }
        data["grid"] = unit.code
    if action.officer:
        person = next((p for p in directory.people.values() if p.code == action.officer), None)
        if person is None:
            raise InvalidInput(f"no officer {action.officer!r}")
        changes |= {"officer_id": person.id, "assignee_kind": "officer"}
        data["officer"] = person.code
    if action.department:
        dept = session.scalar(select(Department).where(Department.code == action.department))
        if dept is None:
            raise InvalidInput(f"no department {action.department!r}")
        changes["department_id"] = dept.id
        data["department"] = dept.code
    if not changes:
        raise InvalidInput("reassign needs officer, grid or department")
    changes["next_due"] = item.ack_due if item.ack_due > utcnow() else utcnow()
    changes["acknowledged_at"] = None
    return changes, "routed", data


def _escalate(
    directory: Directory, item: Case, *, reason: str, deadline: str | None
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """One step up the ladder: officer → grid chief → community → town → city dispatch.

    A missed ``deadline`` is recorded on the case, so it escalates only once;
    at the top of the ladder it is recorded without a move.
    """
    missed = [m for m in item.missed.split(",") if m]
    changes: dict[str, Any] = {}
    if deadline is not None:
        changes["missed"] = ",".join([*missed, deadline])
    rung = next_rung(directory, item.grid_id, item.assignee_kind)
    if rung is None:
        if deadline is None:
            raise Conflict(
                f"case {item.id} is already with the {item.assignee_kind.replace('_', ' ')}"
            )
        return changes, item.status, {"deadline": deadline, "to": item.assignee_kind, "top": True}
    kind, unit, person, why = rung
    routing = dict(item.routing)
    routing["assignee"] = {
        "kind": kind,
        "unit": unit.ref() if unit else None,
        "person": person.ref() if person else None,
    }
    routing["reasons"] = [*routing.get("reasons", []), f"escalated: {reason}; {why}"]
    changes |= {
        "assignee_kind": kind,
        "assignee_unit_id": unit.id if unit else None,
        "officer_id": person.id if person else None,
        "escalation_level": item.escalation_level + 1,
        "routing": routing,
    }
    return changes, item.status, {"to": kind, "reason": reason, "deadline": deadline}
