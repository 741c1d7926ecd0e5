"""Dispatch rules: from a located point, a time and a category to who handles the case.

The ladder, first rung that has someone wins:

1. ``officer``       — the grid officer (网格员) on duty for the grid at that time;
   when a grid has no roster at all, its assigned officer;
2. ``grid_chief``    — the grid chief (网格长) of the grid, else of its community;
3. ``community``     — the community (社区/村) workstation the grid belongs to;
4. ``town_dispatch`` — the town's dispatch centre;
5. ``city_dispatch`` — the city's dispatch centre (智网调度中心), also for points
   outside every grid, which are never dropped.

Among several officers on duty, the one whose shift began most recently
takes the case (a fresh shift takes over from one ending), ties by code.
The category names the handling department. Every decision carries its
reasons in plain words so a dispatcher can see why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from grids.city.directory import (
    CategoryInfo,
    DepartmentInfo,
    Directory,
    PersonInfo,
    UnitInfo,
)
from grids.errors import InvalidInput

ASSIGNEE_KINDS = ("officer", "grid_chief", "community", "town_dispatch", "city_dispatch")


@dataclass(frozen=True)
class RoutingDecision:
    """Who handles a report, and why."""

    match: str
    snap_distance_m: float | None
    grid: UnitInfo | None
    path: list[UnitInfo]
    assignee_kind: str
    assignee_unit: UnitInfo | None
    officer: PersonInfo | None
    category: CategoryInfo | None
    department: DepartmentInfo | None
    fallback: str | None
    reasons: list[str] = field(default_factory=list)

    def unit_at(self, level: str) -> UnitInfo | None:
        return next((u for u in self.path if u.level == level), None)

    def to_dict(self) -> dict[str, Any]:
        """The routing object of the API."""
        town = self.unit_at("town")
        community = self.unit_at("community")
        return {
            "match": self.match,
            "snap_distance_m": self.snap_distance_m,
            "grid": self.grid.ref() if self.grid else None,
            "community": community.ref() if community else None,
            "town": town.ref() if town else None,
            "path": [u.ref() for u in self.path],
            "assignee": {
                "kind": self.assignee_kind,
                "unit": self.assignee_unit.ref() if self.assignee_unit else None,
                "person": self.officer.ref() if self.officer else None,
            },
            "officer": self.officer.ref() if self.officer else None,
            "category": self.category.ref() if self.category else None,
            "department": self.department.ref() if self.department else None,
            "fallback": self.fallback,
            "reasons": self.reasons,
        }


def category_of(directory: Directory, code: str | None) -> CategoryInfo | None:
    """The category for a code; an unknown code is refused with the valid ones listed."""
    if code is None:
        return None
    category = directory.categories.get(code)
    if category is None:
        known = sorted(directory.categories)
        shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
        raise InvalidInput(f"unknown category {code!r}; use one of: {shown}")
    return category


def decide(
    directory: Directory,
    grid_id: int | None,
    match: str,
    distance_m: float | None,
    local_time: dt.datetime,
    category_code: str | None,
) -> RoutingDecision:
    """Apply the ladder of the module docstring to one located point."""
    category = category_of(directory, category_code)
    department = directory.departments.get(category.department) if category else None
    reasons: list[str] = []
    if category and department:
        reasons.append(
            f"category {category.code} ({category.name}) is handled by {department.name}"
        )

    if grid_id is None:
        reasons.insert(0, "the point lies outside every grid and beyond the snapping distance")
        city = directory.city
        reasons.append("goes to the city dispatch centre" + (f" ({city.name})" if city else ""))
        return RoutingDecision(
            match,
            None,
            None,
            [],
            "city_dispatch",
            city,
            None,
            category,
            department,
            "outside_all_grids",
            reasons,
        )

    grid = directory.units[grid_id]
    path = directory.path(grid_id)
    if match == "snapped":
        reasons.insert(
            0, f"{distance_m:.0f} m outside grid {grid.code} ({grid.name}): snapped to it"
        )
    elif match == "edge":
        reasons.insert(
            0, f"on the boundary of grid {grid.code} ({grid.name}): the first listed grid takes it"
        )
    else:
        reasons.insert(0, f"inside grid {grid.code} ({grid.name})")

    def result(
        kind: str, unit: UnitInfo | None, person: PersonInfo | None, fallback: str | None
    ) -> RoutingDecision:
        return RoutingDecision(
            match,
            distance_m if match == "snapped" else 0.0,
            grid,
            path,
            kind,
            unit,
            person,
            category,
            department,
            fallback,
            reasons,
        )

    shifts = directory.shifts.get(grid_id, [])
    on_duty = []
    for shift in shifts:
        began = shift.started_at(local_time)
        if began is not None:
            person = directory.people[shift.person_id]
            on_duty.append((-began.timestamp(), person.code, person, shift))
    if on_duty:
        _, _, person, shift = min(on_duty)
        reasons.append(f"officer {person.name} ({person.code}) is on duty: {shift.describe()}")
        return result("officer", grid, person, None)
    officers = directory.people_with_role(grid_id, "officer")
    if not shifts and officers:
        reasons.append(f"grid has no roster; its assigned officer {officers[0].name} takes it")
        return result("officer", grid, officers[0], None)
    when = f"{local_time:%a %H:%M}"
    reasons.append(f"no officer on duty at {when}" if shifts else "grid has no officer assigned")
    fallback = "no_officer_on_duty" if shifts else "no_officer_assigned"

    kind, unit, chief, reason = fallback_rungs(directory, grid_id)[0]
    reasons.append(reason)
    return result(kind, unit, chief, fallback)


Rung = tuple[str, UnitInfo | None, PersonInfo | None, str]


def fallback_rungs(directory: Directory, grid_id: int) -> list[Rung]:
    """The rungs above the grid officer, in order, that exist for this grid.

    Each is (assignee kind, unit, person or None, reason); the last is
    always a dispatch centre. Routing takes the first, escalation the next
    one above the current assignee.
    """
    grid = directory.units[grid_id]
    community = directory.ancestor(grid_id, "community")
    town = directory.ancestor(grid_id, "town")
    rungs: list[Rung] = []
    chief_unit = next(
        (u for u in (grid, community) if u and directory.people_with_role(u.id, "chief")), None
    )
    if chief_unit is not None:
        chief = directory.people_with_role(chief_unit.id, "chief")[0]
        rungs.append(
            (
                "grid_chief",
                chief_unit,
                chief,
                f"grid chief {chief.name} ({chief.code}) of {chief_unit.name} takes it",
            )
        )
    if community is not None:
        rungs.append(
            (
                "community",
                community,
                None,
                f"the community workstation of {community.name} takes it",
            )
        )
    if town is not None:
        rungs.append(("town_dispatch", town, None, f"the dispatch centre of {town.name} takes it"))
    rungs.append(("city_dispatch", directory.city, None, "the city dispatch centre takes it"))
    return rungs


def next_rung(directory: Directory, grid_id: int | None, current_kind: str) -> Rung | None:
    """The rung above ``current_kind`` for escalation, or None at the top of the ladder."""
    if grid_id is None:
        return None
    order = {kind: i for i, kind in enumerate(ASSIGNEE_KINDS)}
    above = [r for r in fallback_rungs(directory, grid_id) if order[r[0]] > order[current_kind]]
    return above[0] if above else None


def person_by_code(directory: Directory, code: str) -> PersonInfo | None:
    return next((p for p in directory.people.values() if p.code == code), None)


def handed_to(
    directory: Directory, grid_id: int | None, person: PersonInfo
) -> tuple[str, UnitInfo | None]:
    """The assignee kind and unit of a case handed to a person: the chief of its grid or
    community holds it as grid chief, anyone else as its officer."""
    if grid_id is None:
        return "officer", None
    for unit in (directory.units[grid_id], directory.ancestor(grid_id, "community")):
        if unit is not None and person in directory.people_with_role(unit.id, "chief"):
            return "grid_chief", unit
    return "officer", directory.units[grid_id]


def routing_block(
    directory: Directory,
    routing: dict[str, Any],
    *,
    grid_id: int | None,
    kind: str,
    unit: UnitInfo | None,
    person: PersonInfo | None,
    reason: str,
    department: DepartmentInfo | None = None,
) -> dict[str, Any]:
    """The routing block after a change of grid or assignee, so that what the console shows
    agrees with where the case is and who holds it; the reason is added to the others."""
    path = directory.path(grid_id) if grid_id is not None else []
    grid = directory.units[grid_id] if grid_id is not None else None
    block = dict(routing)
    block |= {
        "grid": grid.ref() if grid else None,
        "community": next((u.ref() for u in path if u.level == "community"), None),
        "town": next((u.ref() for u in path if u.level == "town"), None),
        "path": [u.ref() for u in path],
        "assignee": {
            "kind": kind,
            "unit": unit.ref() if unit else None,
            "person": person.ref() if person else None,
        },
        "officer": person.ref() if person else None,
        "reasons": [*routing.get("reasons", []), reason],
    }
    if department is not None:
        block["department"] = department.ref()
    return block
