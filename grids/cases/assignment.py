"""Who holds a case: reassignment by a dispatcher and escalation up the ladder.

Both keep the routing block (what the console shows) in step with the case's
grid, community, town, assignee and officer, and return a plan for
:func:`grids.cases.lifecycle.apply_action`: the column changes, the state the
case goes to and the audit row's data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.scope import Scope, served_grids
from grids.cases.models import Case
from grids.city.directory import Directory, PersonInfo
from grids.city.dispatch import decide, handed_to, next_rung, person_by_code, routing_block
from grids.city.models import Department
from grids.errors import Conflict, InvalidInput

Plan = tuple[dict[str, Any], str, dict[str, Any]]


def reassign(
    session: Session,
    directory: Directory,
    scope: Scope | None,
    item: Case,
    *,
    grid: str | None,
    officer: str | None,
    department: str | None,
    note: str,
    now: dt.datetime,
    timezone: str,
) -> Plan:
    """Hand a case to another grid (its officer on duty now), officer or department.

    An officer must be an officer or chief of a grid in the dispatcher's ``scope``
    (None: the service itself, everywhere); the case is routed again.
    """
    if not (grid or officer or department):
        raise InvalidInput("reassign needs officer, grid or department")
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {}
    grid_id = item.grid_id
    if grid:
        unit = directory.units_by_code.get(grid)
        if unit is None or unit.level != "grid":
            raise InvalidInput(f"no grid {grid!r}; give a grid code, e.g. DG20-C01-G01")
        grid_id = unit.id
        community = directory.ancestor(unit.id, "community")
        town = directory.ancestor(unit.id, "town")
        changes |= {
            "grid_id": unit.id,
            "community_id": community.id if community else None,
            "town_id": town.id if town else None,
        }
        data["grid"] = unit.code
    handler = None
    person: PersonInfo | None
    if department:
        row = session.scalar(select(Department).where(Department.code == department))
        handler = directory.departments.get(department)
        if row is None or handler is None:
            raise InvalidInput(f"no department {department!r}")
        changes["department_id"] = row.id
        data["department"] = row.code
    if officer:
        person = _assignable(directory, scope, officer)
        kind, holder = handed_to(directory, grid_id, person)
        data["officer"] = person.code
        reason = f"reassigned to {person.name} ({person.code})"
    elif grid:
        assert grid_id is not None
        decision = decide(
            directory,
            grid_id,
            item.match,
            item.snap_distance_m,
            now.astimezone(ZoneInfo(timezone)),
            item.category.code,
        )
        kind, holder, person = decision.assignee_kind, decision.assignee_unit, decision.officer
        reason = f"reassigned to grid {data['grid']}: " + decision.reasons[-1]
    else:
        kind = item.assignee_kind
        holder = directory.units.get(item.assignee_unit_id) if item.assignee_unit_id else None
        person = directory.people.get(item.officer_id) if item.officer_id else None
        reason = f"reassigned to department {data['department']}"
    if note:
        reason += f"; {note}"
    changes |= {
        "assignee_kind": kind,
        "assignee_unit_id": holder.id if holder else None,
        "officer_id": person.id if person else None,
        "routing": routing_block(
            directory,
            item.routing,
            grid_id=grid_id,
            kind=kind,
            unit=holder,
            person=person,
            reason=reason,
            department=handler,
        ),
        "next_due": max(item.ack_due, now),
        "acknowledged_at": None,
    }
    return changes, "routed", data


def _assignable(directory: Directory, scope: Scope | None, code: str) -> PersonInfo:
    """The person a dispatcher hands a case to: an officer or chief of a grid in their scope."""
    person = person_by_code(directory, code)
    if person is None:
        raise InvalidInput(f"no person {code!r}; give the code of an officer (people.csv)")
    grids = served_grids(directory, ("officer", "chief"), person.id)
    if not grids or not any(scope is None or scope.covers_grid(directory, g) for g in grids):
        raise InvalidInput(
            f"{code} ({person.name}) is not an officer or chief of a grid in your scope; "
            "hand the case to one who is, or reassign it to a grid"
        )
    return person


def escalate(directory: Directory, item: Case, *, reason: str, deadline: str | None) -> Plan:
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
    changes |= {
        "assignee_kind": kind,
        "assignee_unit_id": unit.id if unit else None,
        "officer_id": person.id if person else None,
        "escalation_level": item.escalation_level + 1,
        "routing": routing_block(
            directory,
            item.routing,
            grid_id=item.grid_id,
            kind=kind,
            unit=unit,
            person=person,
            reason=f"escalated: {reason}; {why}",
        ),
    }
    return changes, item.status, {"to": kind, "reason": reason, "deadline": deadline}
