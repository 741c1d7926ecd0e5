"""An in-memory snapshot of units, people, rosters and categories, for fast routing.

Routing a report must not cost a dozen queries, and routing a file of a
million points must not cost a million; the directory is loaded once and
reloaded when the store's revision counter moves (every import bumps it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.city.models import (
    Assignment,
    Category,
    Department,
    Person,
    RosterEntry,
    StoreRevision,
    Unit,
)


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    name: str
    name_en: str | None
    level: str
    parent_id: int | None

    def ref(self) -> dict[str, str | None]:
        """What an API response shows of a unit."""
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "level": self.level}


@dataclass(frozen=True)
class PersonInfo:
    id: int
    code: str
    name: str

    def ref(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    name_en: str | None

    def ref(self) -> dict[str, str | None]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en}


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    name: str
    name_en: str | None
    group: str
    department: str
    ack_minutes: int
    verify_minutes: int
    close_minutes: int
    reward_yuan: Decimal
    points: int
    duplicate_radius_m: float

    def ref(self) -> dict[str, str | None]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en}


@dataclass(frozen=True)
class Shift:
    """A recurring shift in local time; see :class:`grids.city.models.RosterEntry`."""

    person_id: int
    weekdays: frozenset[int]
    start: dt.time
    end: dt.time
    valid_from: dt.date
    valid_until: dt.date | None

    def started_at(self, local: dt.datetime) -> dt.datetime | None:
        """When the occurrence of this shift that covers ``local`` began, or None if none does."""
        day = local.date()
        candidates = [day]
        if self.end <= self.start:  # runs past midnight: may have begun yesterday
            candidates.append(day - dt.timedelta(days=1))
        for start_day in candidates:
            if start_day.isoweekday() not in self.weekdays:
                continue
            if start_day < self.valid_from or (self.valid_until and start_day > self.valid_until):
                continue
            begin = dt.datetime.combine(start_day, self.start, local.tzinfo)
            end_day = start_day if self.end > self.start else start_day + dt.timedelta(days=1)
            finish = dt.datetime.combine(end_day, self.end, local.tzinfo)
            if begin <= local < finish:
                return begin
        return None

    def describe(self) -> str:
        days = "".join(sorted(str(d) for d in self.weekdays))
        return f"days {days} {self.start:%H:%M}-{self.end:%H:%M}"


class Directory:
    """Units, people, shifts and categories by id and code."""

    def __init__(
        self,
        revision: int,
        units: list[UnitInfo],
        people: list[PersonInfo],
        roles: list[tuple[int, int, str]],
        shifts: list[tuple[int, Shift]],
        departments: list[DepartmentInfo],
        categories: list[CategoryInfo],
    ) -> None:
        self.revision = revision
        self.units = {u.id: u for u in units}
        self.units_by_code = {u.code: u for u in units}
        self.people = {p.id: p for p in people}
        self.roles: dict[tuple[int, str], list[PersonInfo]] = defaultdict(list)
        for person_id, unit_id, role in roles:
            self.roles[(unit_id, role)].append(self.people[person_id])
        for members in self.roles.values():
            members.sort(key=lambda p: p.code)
        self.shifts: dict[int, list[Shift]] = defaultdict(list)
        for unit_id, shift in shifts:
            self.shifts[unit_id].append(shift)
        self.departments = {d.code: d for d in departments}
        self.categories = {c.code: c for c in categories}
        cities = [u for u in units if u.level == "city"]
        self.city = cities[0] if len(cities) == 1 else None
        below: dict[int, set[int]] = defaultdict(set)
        for unit in units:
            if unit.level == "grid":
                for ancestor in self.path(unit.id):
                    below[ancestor.id].add(unit.id)
        self._grids_under = {unit_id: frozenset(grids) for unit_id, grids in below.items()}

    @classmethod
    def load(cls, session: Session) -> Directory:
        revision = session.scalar(select(StoreRevision.revision)) or 0
        units = [
            UnitInfo(u.id, u.code, u.name, u.name_en, u.level, u.parent_id)
            for u in session.execute(
                select(Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.level, Unit.parent_id)
            )
        ]
        people = [
            PersonInfo(*row) for row in session.execute(select(Person.id, Person.code, Person.name))
        ]
        roles = [
            (r.person_id, r.unit_id, r.role)
            for r in session.execute(
                select(Assignment.person_id, Assignment.unit_id, Assignment.role)
            )
        ]
        shifts = [
            (
                r.unit_id,
                Shift(
                    r.person_id,
                    frozenset(int(d) for d in r.weekdays),
                    r.start_time,
                    r.end_time,
                    r.valid_from,
                    r.valid_until,
                ),
            )
            for r in session.scalars(select(RosterEntry))
        ]
        departments = [
            DepartmentInfo(d.code, d.name, d.name_en) for d in session.scalars(select(Department))
        ]
        categories = [
            CategoryInfo(
                c.code,
                c.name,
                c.name_en,
                c.group,
                c.department.code,
                c.ack_minutes,
                c.verify_minutes,
                c.close_minutes,
                c.reward_yuan,
                c.points,
                c.duplicate_radius_m,
            )
            for c in session.scalars(select(Category).join(Category.department))
        ]
        return cls(revision, units, people, roles, shifts, departments, categories)

    def path(self, unit_id: int) -> list[UnitInfo]:
        """The unit and its ancestors, top down (city first)."""
        chain = []
        current: int | None = unit_id
        while current is not None:
            unit = self.units[current]
            chain.append(unit)
            current = unit.parent_id
        return chain[::-1]

    def ancestor(self, unit_id: int, level: str) -> UnitInfo | None:
        """The unit itself or its nearest ancestor at ``level``."""
        return next((u for u in reversed(self.path(unit_id)) if u.level == level), None)

    def grids_under(self, unit_id: int) -> frozenset[int]:
        """The grids a unit holds: itself if a grid, else every grid below it."""
        return self._grids_under.get(unit_id, frozenset())

    def people_with_role(self, unit_id: int, role: str) -> list[PersonInfo]:
        return self.roles.get((unit_id, role), [])
