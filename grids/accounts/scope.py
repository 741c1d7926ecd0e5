"""What a user may see: an officer the grids they are assigned to (as officer, or as
chief of the grid or its community), a dispatcher, patrol leader or planner the units
under their scope unit, an admin everything."""

from __future__ import annotations

from dataclasses import dataclass

from grids.accounts.models import User
from grids.city.directory import Directory


@dataclass(frozen=True)
class Scope:
    """Which units' cases a user may see and act on; ``None`` grids means everywhere."""

    user_id: int
    role: str
    grid_ids: frozenset[int] | None
    unit_ids: frozenset[int] | None

    @property
    def everywhere(self) -> bool:
        return self.grid_ids is None and self.unit_ids is None

    def covers(self, grid_id: int | None, town_id: int | None, community_id: int | None) -> bool:
        if self.everywhere:
            return True
        if self.grid_ids is not None:
            return grid_id in self.grid_ids
        assert self.unit_ids is not None
        return bool({grid_id, town_id, community_id} & self.unit_ids)


def scope_of(user: User, directory: Directory) -> Scope:
    """The scope of a user, resolved against the current hierarchy."""
    if user.role == "admin" or (user.role != "officer" and user.scope_unit_id is None):
        if user.role in ("admin", "planner"):
            return Scope(user.id, user.role, None, None)
        return Scope(user.id, user.role, frozenset(), frozenset())
    if user.role == "officer":
        grids: set[int] = set()
        for (unit_id, role), people in directory.roles.items():
            if role in ("officer", "chief") and any(p.id == user.person_id for p in people):
                unit = directory.units[unit_id]
                if unit.level == "grid":
                    grids.add(unit_id)
                else:
                    grids |= {
                        u.id
                        for u in directory.units.values()
                        if u.level == "grid" and unit_id in {a.id for a in directory.path(u.id)}
                    }
        return Scope(user.id, user.role, frozenset(grids), None)
    assert user.scope_unit_id is not None
    scope_unit = directory.units[user.scope_unit_id]
    if scope_unit.level == "city":
        return Scope(user.id, user.role, None, None)
    return Scope(user.id, user.role, None, frozenset({scope_unit.id}))
