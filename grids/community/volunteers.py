"""The volunteers' registry: who they are, their team and unit, skills and contact.

A volunteer's real name and phone number reach only admins and the managers of
their own unit (a dispatcher or patrol leader whose scope holds the unit); everyone
else, officers and planners included, sees a stable pseudonym (志愿者-XXXXXX). A
volunteer in a patrol team is that team's member, registered under the pseudonym,
so attendance and check-ins never carry a real name.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.accounts.scope import Scope
from grids.city.directory import Directory
from grids.city.models import Unit
from grids.community.config import CommunityConfig
from grids.community.models import Volunteer
from grids.errors import ImportRefused, InvalidInput, NotFound
from grids.patrols.models import Team
from grids.patrols.service import save_member

CSV_COLUMNS = ("code", "kind", "name", "phone", "unit", "team", "skills")
"""``skills`` are separated by ``;`` (e.g. ``急救;消防``); ``phone``, ``team``, ``skills``
may be empty."""
MANAGERS = ("dispatcher", "patrol_leader")


def volunteer_pseudonym(secret: str, code: str) -> str:
    digest = hmac.new(secret.encode(), f"volunteer:{code}".encode(), hashlib.sha256).hexdigest()
    return f"志愿者-{digest[:6].upper()}"


@dataclass(frozen=True)
class VolunteerIn:
    code: str
    kind: str
    name: str
    unit: str
    phone: str | None = None
    team: str | None = None
    skills: tuple[str, ...] = ()


Manages = Callable[[int], bool]
"""Whether the caller manages a unit (by id): only they register its volunteers."""


def _everyone(_unit_id: int) -> bool:
    return True


def save_volunteer(
    session: Session, config: CommunityConfig, item: VolunteerIn, manages: Manages = _everyone
) -> Volunteer:
    """Create or update (by code) a volunteer; in a team they are its member."""
    problem = _row_problem(session, config, item, set(), manages)
    if problem:
        raise InvalidInput(problem)
    kind = config.kind_code(item.kind)
    unit = session.scalar(select(Unit).where(Unit.code == item.unit))
    assert unit is not None
    team = session.scalar(select(Team).where(Team.code == item.team)) if item.team else None
    volunteer = session.scalar(select(Volunteer).where(Volunteer.code == item.code))
    if volunteer is None:
        volunteer = Volunteer(
            code=item.code, pseudonym=volunteer_pseudonym(config.secret, item.code)
        )
    volunteer.kind, volunteer.real_name, volunteer.phone = kind, item.name, item.phone or None
    volunteer.unit_id, volunteer.skills = unit.id, list(item.skills)
    volunteer.team_id = team.id if team else None
    volunteer.member_id = (
        save_member(session, team, item.code, volunteer.pseudonym).id if team else None
    )
    session.add(volunteer)
    session.flush()
    return volunteer


@dataclass
class ImportResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


class VolunteerImportRefused(ImportRefused):
    """Some rows cannot be imported; nothing was. ``body`` lists them (row, code, reason)."""

    def __init__(self, message: str, rejected: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.body = {"rejected": rejected}


def import_volunteers(
    session: Session, config: CommunityConfig, text: str, manages: Manages = _everyone
) -> ImportResult:
    """Import a CSV of volunteers (``CSV_COLUMNS``): all rows, or none and why each failed."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ("code", "kind", "name", "unit") if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportRefused(f"the CSV has no columns {missing}; it needs {list(CSV_COLUMNS)}")
    result = ImportResult()
    seen: set[str] = set()
    items: list[VolunteerIn] = []
    for n, row in enumerate(reader, start=2):  # line 1 is the header
        code = (row.get("code") or "").strip()
        item = VolunteerIn(
            code=code,
            kind=(row.get("kind") or "").strip(),
            name=(row.get("name") or "").strip(),
            unit=(row.get("unit") or "").strip(),
            phone=(row.get("phone") or "").strip() or None,
            team=(row.get("team") or "").strip() or None,
            skills=tuple(s.strip() for s in (row.get("skills") or "").split(";") if s.strip()),
        )
        reason = _row_problem(session, config, item, seen, manages)
        if reason:
            result.rejected.append({"row": n, "code": code, "reason": reason})
        seen.add(code)
        items.append(item)
    if not items:
        raise ImportRefused("the CSV holds no volunteers")
    if result.rejected:
        raise VolunteerImportRefused(
            f"{len(result.rejected)} of {len(items)} rows rejected, nothing imported; "
            f"first: row {result.rejected[0]['row']}: {result.rejected[0]['reason']}",
            result.rejected,
        )
    for item in items:
        save_volunteer(session, config, item, manages)
    result.accepted = len(items)
    return result


def _row_problem(
    session: Session, config: CommunityConfig, item: VolunteerIn, seen: set[str], manages: Manages
) -> str | None:
    if not item.code.strip() or not item.name.strip():
        return "code and name are required"
    if item.code in seen:
        return f"code {item.code} appears twice"
    try:
        config.kind_code(item.kind)
    except InvalidInput as exc:
        return str(exc)
    unit = session.scalar(select(Unit).where(Unit.code == item.unit))
    if unit is None:
        return f"no unit {item.unit!r}"
    if unit.level == "grid":
        return f"{item.unit} is a grid; a volunteer belongs to a community or town"
    if not manages(unit.id):
        return f"{item.unit} is not a unit you manage"
    existing = session.scalar(select(Volunteer.unit_id).where(Volunteer.code == item.code))
    if existing is not None and not manages(existing):
        return f"volunteer {item.code} belongs to a unit you do not manage"
    if item.team and session.scalar(select(Team.id).where(Team.code == item.team)) is None:
        return f"no team {item.team!r}"
    return None


# --------------------------------------------------------------------- who sees
def identity_visible(user: User, scope: Scope, directory: Directory, unit_id: int) -> bool:
    """May this user see the real name and phone of a volunteer of this unit?"""
    if user.role == "admin":
        return True
    if user.role not in MANAGERS:
        return False
    if scope.everywhere:
        return True
    return bool({u.id for u in directory.path(unit_id)} & (scope.unit_ids or frozenset()))


def may_see_volunteer(scope: Scope, directory: Directory, unit_id: int) -> bool:
    """Is the volunteer's unit in this user's sight at all (pseudonym or not)?"""
    if scope.everywhere:
        return True
    if scope.grid_ids is not None:  # an officer: the communities and towns of their grids
        return any(unit_id in {u.id for u in directory.path(g)} for g in scope.grid_ids)
    return bool({u.id for u in directory.path(unit_id)} & (scope.unit_ids or frozenset()))


def volunteer_view(
    session: Session, volunteer: Volunteer, *, identity: bool, kinds: dict[str, str]
) -> dict[str, Any]:
    """A volunteer as a caller may see them: the real name and phone only with ``identity``."""
    unit = session.get(Unit, volunteer.unit_id)
    team = session.get(Team, volunteer.team_id) if volunteer.team_id else None
    view: dict[str, Any] = {
        "code": volunteer.code,
        "pseudonym": volunteer.pseudonym,
        "kind": volunteer.kind,
        "kind_label": kinds.get(volunteer.kind, volunteer.kind),
        "unit": unit.code if unit else None,
        "team": team.code if team else None,
        "skills": list(volunteer.skills or []),
        "active": volunteer.active,
    }
    if identity:
        view["name"], view["phone"] = volunteer.real_name, volunteer.phone
    return view


def volunteer_by_code(session: Session, code: str) -> Volunteer:
    volunteer = session.scalar(select(Volunteer).where(Volunteer.code == code))
    if volunteer is None:
        raise NotFound(f"no volunteer {code!r}")
    return volunteer
