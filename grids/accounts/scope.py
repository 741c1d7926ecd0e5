"""What a user may see and act on.

An officer sees the cases of the grids they serve (as officer, or as chief of
the grid or its community) and every case assigned to them; they act on a case
assigned to them, on a case of their grids that no one in person holds, and, as
a chief, on every case of the grids they lead. A dispatcher, patrol leader or
planner sees the units under their scope unit, an admin everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from grids.accounts.models import User
from grids.city.directory import Directory

NOTHING: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Scope:
    """Which units' cases a user may see and act on; ``None`` grids and units mean everywhere."""

    user_id: int
    role: str
    grid_ids: frozenset[int] | None
    unit_ids: frozenset[int] | None
    person_id: int | None = None  # an officer's person: cases assigned to them are theirs
    led_grid_ids: frozenset[int] = NOTHING  # grids an officer leads as chief

    @property
    def everywhere(self) -> bool:
        return self.grid_ids is None and self.unit_ids is None

    def covers(
        self,
        grid_id: int | None,
        town_id: int | None,
        community_id: int | None,
        officer_id: int | None = None,
    ) -> bool:
        """May this user see a case in these units, assigned to this person?"""
        if self.everywhere:
            return True
        if self.person_id is not None and officer_id == self.person_id:
            return True
        if self.grid_ids is not None:
            return grid_id in self.grid_ids
        assert self.unit_ids is not None
        return bool({grid_id, town_id, community_id} & self.unit_ids)

    def may_act(
        self,
        grid_id: int | None,
        town_id: int | None,
        community_id: int | None,
        officer_id: int | None,
    ) -> bool:
        """May this user act on a case they see? Officers only on what is theirs to hold."""
        if not self.covers(grid_id, town_id, community_id, officer_id):
            return False
        if self.person_id is None:
            return True
        return officer_id == self.person_id or officer_id is None or grid_id in self.led_grid_ids

    def covers_grid(self, directory: Directory, grid_id: int) -> bool:
        """Does the scope take in this grid as a whole (not only cases assigned in person)?"""
        if self.everywhere:
            return True
        if self.grid_ids is not None:
            return grid_id in self.grid_ids
        assert self.unit_ids is not None
        return bool({u.id for u in directory.path(grid_id)} & self.unit_ids)


def served_grids(
    directory: Directory, roles: tuple[str, ...], person_id: int | None = None
) -> set[int]:
    """The grids a person (or, without one, anyone) works for in these roles; a chief of a
    community works for all of its grids."""
    grids: set[int] = set()
    for (unit_id, role), people in directory.roles.items():
        if role in roles and any(person_id in (None, p.id) for p in people):
            grids |= directory.grids_under(unit_id)
    return grids


def scope_of(user: User, directory: Directory) -> Scope:
    """The scope of a user, resolved against the current hierarchy."""
    if user.role == "admin" or (user.role != "officer" and user.scope_unit_id is None):
        if user.role in ("admin", "planner"):
            return Scope(user.id, user.role, None, None)
        return Scope(user.id, user.role, NOTHING, NOTHING)
    if user.role == "officer":
        if user.person_id is None:
            return Scope(user.id, user.role, NOTHING, None)
        return Scope(
            user.id,
            user.role,
            frozenset(served_grids(directory, ("officer", "chief"), user.person_id)),
            None,
            person_id=user.person_id,
            led_grid_ids=frozenset(served_grids(directory, ("chief",), user.person_id)),
        )
    assert user.scope_unit_id is not None
    scope_unit = directory.units[user.scope_unit_id]
    if scope_unit.level == "city":
        return Scope(user.id, user.role, None, None)
    return Scope(user.id, user.role, None, frozenset({scope_unit.id}))
