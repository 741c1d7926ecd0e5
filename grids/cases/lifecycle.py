"""The state machine of a case and the actions that move it.

    routed → acknowledged → verified → in_progress → resolved → closed
                       ↘ rejected (invalid / duplicate / not_ours)
    resolved, closed, rejected → routed (reopen)
    open cases → routed again on reassign; escalate keeps the state
    any state: publish (a dispatcher releases its free text to the public, same state)
    imported: routed → closed (import_closed, at its own time) or routed (import_open)

Every change is a compare-and-swap on ``version`` (one of two concurrent
changes wins, the other gets :class:`Conflict`); a person's change must name the
version it was made on (:class:`VersionRequired` otherwise), so no change
overwrites one its author never saw. It writes one audit row, and
records its webhook deliveries, all in the caller's transaction. Officers act
only on what is theirs to hold (:meth:`grids.accounts.scope.Scope.may_act`);
positions arrive in any datum and are stored in WGS-84; a merge keeps the
duplicate chain one step deep (:mod:`grids.cases.duplicates`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from geo.crs import parse_crs, to_wgs84
from geo.distance import haversine_m
from grids.accounts.models import User
from grids.accounts.scope import Scope, scope_of
from grids.accounts.users import Forbidden
from grids.cases.assignment import escalate, reassign
from grids.cases.duplicates import duplicates_of, merge_root
from grids.cases.intake import CaseConfig, add_event, require_role
from grids.cases.models import STATUSES, Case, CaseEvent
from grids.cases.rewards import FOUND_INVALID, award, reward_view
from grids.city.directory import Directory
from grids.db import utcnow
from grids.errors import Conflict, GridwatchError, InvalidInput, NotFound
from grids.events import publish
from grids.exchange.publication import release
from grids.exchange.webhooks import enqueue

__all__ = ["ALLOWED", "Action", "Conflict", "StaleVersion", "VersionRequired", "apply_action"]

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
    "publish": (frozenset(STATUSES), DISPATCH_ROLES),  # release its free text to the public
    # the importer's, never a user's: a case closed in the system it comes from (at its own
    # time), or open there and ours from the import on (its deadlines count from then)
    "import_closed": (frozenset({"routed"}), ()),
    "import_open": (frozenset({"routed"}), ()),
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
MERGED_NOTE = (
    "已合并到已有案件，处理结果将同步告知 / merged into an existing case of the same problem; "
    "you will hear how it is handled"
)
FOLLOWED_NOTE = "同一问题经核实不予立案 / the same problem was not taken up after checking"


STEPS = ("acknowledge", "start", "resolve", "close")
"""The steps whose changes depend on nothing but the time and the case's deadlines."""


def step_changes(
    name: str, now: dt.datetime, *, verify_due: dt.datetime, close_due: dt.datetime
) -> tuple[dict[str, Any], str]:
    """The column changes and the state after one of :data:`STEPS` (also the history's)."""
    if name == "acknowledge":
        return {"acknowledged_at": now, "next_due": verify_due}, "acknowledged"
    if name == "start":
        return {}, "in_progress"
    if name == "resolve":
        return {"resolved_at": now, "next_due": None}, "resolved"
    if name == "close":
        return {"closed_at": now, "next_due": None}, "closed"
    raise InvalidInput(f"{name!r} is not a plain step; use one of {list(STEPS)}")


def verify_changes(
    now: dt.datetime, *, close_due: dt.datetime, valid: bool, reason: str | None
) -> tuple[dict[str, Any], str]:
    """The column changes and the state after a verify on site, valid or not."""
    if valid:
        return {"verified_at": now, "next_due": close_due}, "verified"
    return {"verified_at": now, "next_due": None, "reject_reason": reason}, "rejected"


def merge_changes(root_id: int) -> dict[str, Any]:
    """The column changes of a case merged into the root of its duplicate chain."""
    return {"duplicate_of_id": root_id, "reject_reason": "duplicate", "next_due": None}


def public_note(name: str, before: str, to_status: str, given: str | None = None) -> str:
    """What the reporter is told: the actor's words if given, else the step's plain words."""
    if name == "escalate":
        return ""
    if given is not None:
        return given
    if to_status == before:
        return ""
    return MERGED_NOTE if name == "merge" else PUBLIC_NOTES.get(to_status, "")


class StaleVersion(Conflict):
    """A change sent for a version the case has left: who changed it, and when."""

    def __init__(self, message: str, *, version: int, changed_by: str, changed_at: str) -> None:
        super().__init__(message)
        self.body = {"version": version, "changed_by": changed_by, "changed_at": changed_at}


class VersionRequired(GridwatchError):
    """A person's change that names no version (HTTP 428 Precondition Required): without it,
    concurrent changes would each overwrite the others one after the other."""


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
    """What the actor sends with an action; a position in ``crs`` (wgs84, gcj02, bd09)."""

    name: str
    expected_version: int | None = None
    note: str = ""
    public_note: str | None = None
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    valid: bool | None = None
    reason: str | None = None
    officer: str | None = None
    grid: str | None = None
    department: str | None = None
    duplicate_of: int | None = None
    deadline: str | None = None  # set by the escalation checker: which deadline was missed


@dataclass(frozen=True)
class _Context:
    """What planning an action needs besides the case and the action."""

    session: Session
    directory: Directory
    config: CaseConfig
    scope: Scope | None  # None: the service itself (escalation, history)
    position: tuple[float, float] | None  # the actor's position in WGS-84
    now: dt.datetime


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
    """Check and apply one action to a case the user may see; the caller commits.

    A user must send the version they saw (``action.expected_version``); the service
    itself (``user`` None: escalation) acts on the version it has just read.
    """
    now = now or utcnow()
    if action.name not in ALLOWED:
        raise InvalidInput(f"unknown action {action.name!r}; use one of {sorted(ALLOWED)}")
    states, roles = ALLOWED[action.name]
    scope = None
    if user is not None:
        if not roles:
            raise Forbidden(f"{action.name} is done by the importer only")
        require_role(user, *roles)
        scope = scope_of(user, directory)
        where = (item.grid_id, item.town_id, item.community_id, item.officer_id)
        if not scope.covers(*where):
            raise NotFound(f"no case {item.id}")
        if not scope.may_act(*where):
            holder = directory.people.get(item.officer_id) if item.officer_id else None
            raise Forbidden(
                f"case {item.id} is held by {holder.code if holder else 'someone else'}; only "
                "they, a chief of its grid or a dispatcher may act on it"
            )
    if user is not None and action.expected_version is None:
        raise VersionRequired(
            f"{action.name} needs the version of the case you saw: send If-Match: <version> "
            f"(case {item.id} is at version {item.version} now; read it again if unsure)"
        )
    if action.expected_version is not None and action.expected_version != item.version:
        raise stale(session, item, action.expected_version)  # first: who got there before
    if item.status not in states:
        raise Conflict(
            f"cannot {action.name} a case that is {item.status}; "
            f"{action.name} needs one of {sorted(states)}"
        )
    context = _Context(session, directory, config, scope, _position(action), now)
    before = item.status
    changes, to_status, data = _plan(context, item, action)
    _update(session, item, changes, to_status, now)
    if action.name == "verify":
        data |= _award_data(context, item, action)
    _record(
        context,
        item,
        action.name,
        before,
        note=action.note,
        public_note=public_note(action.name, before, to_status, action.public_note),
        user=user,
        data=data,
        position=context.position,
    )
    if action.name == "merge":
        _repoint_duplicates(context, item, user)
    elif to_status == "rejected":
        _reject_duplicates(context, item, user)
    session.flush()
    return item


def _position(action: Action) -> tuple[float, float] | None:
    if action.lat is None or action.lon is None:
        return None
    lat, lon = to_wgs84(action.lat, action.lon, parse_crs(action.crs))
    return float(lat), float(lon)


def _update(
    session: Session, item: Case, changes: dict[str, Any], to_status: str, now: dt.datetime
) -> None:
    """Compare-and-swap the case's columns on its version."""
    values = changes | {"status": to_status, "updated_at": now, "version": item.version + 1}
    result = session.execute(
        update(Case)
        .where(Case.id == item.id, Case.version == item.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        seen = item.version
        session.refresh(item)
        raise stale(session, item, seen)
    session.refresh(item)


def _record(
    context: _Context,
    item: Case,
    name: str,
    before: str,
    *,
    note: str,
    public_note: str,
    user: User | None,
    data: dict[str, Any],
    position: tuple[float, float] | None = None,
) -> None:
    """The audit row and the webhook deliveries of a change just made."""
    add_event(
        context.session,
        item,
        name,
        before,
        item.status,
        actor_user=user,
        actor_role=user.role if user else "system",
        note=note,
        public_note=public_note,
        lat=position[0] if position else None,
        lon=position[1] if position else None,
        data=data,
        at=context.now,
    )
    enqueue(
        context.session,
        context.config.webhooks,
        f"case.{name}",
        {"case_id": item.id, "from": before, "to": item.status, "version": item.version},
    )
    publish(
        context.session,
        "case.escalated" if name == "escalate" else "case.changed",
        case=item,
        data={"action": name, "from": before, "by": user.name if user else "system"},
    )


def _plan(
    context: _Context, item: Case, action: Action
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The column changes, target state and audit data of an action."""
    name, now = action.name, context.now
    if name in STEPS:
        if name == "resolve" and not action.note:
            raise InvalidInput("resolve needs a note saying what was done")
        changes, to_status = step_changes(
            name, now, verify_due=item.verify_due, close_due=item.close_due
        )
        return changes, to_status, {}
    if name == "verify":
        return _verify(context, item, action)
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
        return reassign(
            context.session,
            context.directory,
            context.scope,
            item,
            grid=action.grid,
            officer=action.officer,
            department=action.department,
            note=action.note,
            now=now,
            timezone=context.config.timezone,
        )
    if name == "escalate":
        return escalate(
            context.directory,
            item,
            reason=action.note or "escalated by dispatcher",
            deadline=action.deadline,
        )
    if name == "merge":
        root = merge_root(context.session, context.scope, item, action.duplicate_of)
        data: dict[str, Any] = {"duplicate_of": root.id}
        if root.id != action.duplicate_of:
            data["asked"] = action.duplicate_of
        return merge_changes(root.id), "rejected", data
    if name == "import_closed":
        return {"resolved_at": now, "closed_at": now, "next_due": None}, "closed", {}
    if name == "import_open":
        shift = now - item.reported_at
        due = {k: getattr(item, k) + shift for k in ("ack_due", "verify_due", "close_due")}
        return due | {"next_due": due["ack_due"]}, "routed", {"deadlines_from": now.isoformat()}
    if name == "publish":
        changes, data = release(item, now)
        return changes, item.status, data
    raise InvalidInput(f"unknown action {name!r}")  # pragma: no cover - ALLOWED guards


def _verify(
    context: _Context, item: Case, action: Action
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Verified on site: the officer's position must be near the report."""
    if action.valid is None:
        raise InvalidInput("verify needs valid: true or false")
    if context.position is None:
        raise InvalidInput("verify needs the officer's position: lat and lon (and their crs)")
    distance = float(haversine_m(*context.position, item.lat, item.lon))
    limit = context.config.verify_max_m
    if distance > limit:
        raise InvalidInput(
            f"your position is {distance / 1000:.1f} km from the report; verify on site, "
            f"within {limit:.0f} m of it (check the position's crs: wgs84, gcj02, bd09)"
        )
    if not action.valid and action.reason not in REJECT_REASONS:
        raise InvalidInput(f"an invalid report needs a reason: one of {list(REJECT_REASONS)}")
    changes, to_status = verify_changes(
        context.now, close_due=item.close_due, valid=action.valid, reason=action.reason
    )
    return changes, to_status, ({} if action.valid else {"reason": action.reason})


def _award_data(context: _Context, item: Case, action: Action) -> dict[str, Any]:
    """The verify row's record of the award, or of why there is none."""
    if not action.valid:
        return {"reward": None, "no_reward": FOUND_INVALID}
    entry, why = award(context.session, context.config, item, now=context.now)
    if entry is None:
        return {"reward": None, "no_reward": why}
    return {"reward": reward_view(context.session, entry)}


def _repoint_duplicates(context: _Context, item: Case, user: User | None) -> None:
    """The duplicates of a case just merged follow it to its root, one step deep."""
    assert item.duplicate_of_id is not None
    for duplicate in duplicates_of(context.session, item.id):
        _update(
            context.session,
            duplicate,
            {"duplicate_of_id": item.duplicate_of_id},
            "rejected",
            context.now,
        )
        _record(
            context,
            duplicate,
            "repoint",
            "rejected",
            note=f"its original, case {item.id}, was merged into case {item.duplicate_of_id}",
            public_note="",
            user=user,
            data={"duplicate_of": item.duplicate_of_id, "was": item.id},
        )


def _reject_duplicates(context: _Context, item: Case, user: User | None) -> None:
    """The duplicates of a case found invalid (or not ours) share its outcome."""
    for duplicate in duplicates_of(context.session, item.id):
        _update(
            context.session,
            duplicate,
            {"duplicate_of_id": None, "reject_reason": item.reject_reason},
            "rejected",
            context.now,
        )
        _record(
            context,
            duplicate,
            "follow",
            "rejected",
            note=f"its original, case {item.id}, was rejected ({item.reject_reason})",
            public_note=FOLLOWED_NOTE,
            user=user,
            data={"original": item.id, "reason": item.reject_reason},
        )
