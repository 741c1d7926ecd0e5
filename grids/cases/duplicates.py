"""The duplicate chain: every duplicate points straight at an original that is not
itself a duplicate and was not rejected, whatever the states and whoever asks.

A merge follows the chain from the case asked for to its root and refuses a
cycle, a rejected root, another category, or a case the caller cannot read; the
duplicates of a case that is merged move to the new root, and those of a case
found invalid follow its outcome (see :mod:`grids.cases.lifecycle`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.scope import Scope
from grids.accounts.users import Forbidden
from grids.cases.models import Case
from grids.errors import Conflict, InvalidInput, NotFound


def _readable(scope: Scope | None, item: Case) -> bool:
    return scope is None or scope.covers(
        item.grid_id, item.town_id, item.community_id, item.officer_id
    )


def merge_root(session: Session, scope: Scope | None, item: Case, asked: int | None) -> Case:
    """The case a merge of ``item`` into case ``asked`` points at: the root of its chain."""
    if asked is None or asked == item.id:
        raise InvalidInput(
            "merge needs duplicate_of: the id of the original case (not the case itself)"
        )
    original = session.get(Case, asked)
    if original is None or not _readable(scope, original):
        raise NotFound(f"no case {asked}")
    root, seen = original, {item.id}
    while root.duplicate_of_id is not None:
        if root.id in seen:
            break
        seen.add(root.id)
        following = session.get(Case, root.duplicate_of_id)
        if following is None:
            raise Conflict(f"case {root.id} points at a missing original; reopen it first")
        root = following
    if root.id in seen:
        raise Conflict(
            f"merging case {item.id} into case {asked} would make a cycle: case {asked} is "
            f"already a duplicate of case {item.id}"
        )
    if root.status == "rejected":
        raise Conflict(
            f"case {root.id} was rejected ({root.reject_reason}); a duplicate must point at an "
            "open or closed case: reopen it first, or merge into another case"
        )
    if not _readable(scope, root):
        raise Forbidden(
            f"case {asked} is a duplicate of case {root.id}, which is outside your scope; "
            "ask the dispatcher of its town"
        )
    if root.category_id != item.category_id:
        raise InvalidInput("a duplicate must be of the same category as the original")
    return root


def duplicates_of(session: Session, original_id: int) -> list[Case]:
    """The cases merged into a case, oldest first."""
    return list(
        session.scalars(select(Case).where(Case.duplicate_of_id == original_id).order_by(Case.id))
    )
