"""The invariants of the case loop, checked on a live store (``gridwatch check``).

They hold after every change, whatever door made it:

- ``visible``: every open case in a grid is seen by at least one officer (one works
  for its grid, or it is assigned to someone in person) and lies in the units of its
  grid, so the dispatcher of its town sees it; an open case outside every grid is
  with the city dispatch centre or held by someone;
- ``routing``: the routing block (what the console shows) names the case's grid,
  community, town, assignee and officer;
- ``duplicates``: every duplicate points at an existing original that is not itself a
  duplicate and was not rejected (so no chain has a cycle);
- ``audit``: the audit rows of a case start with its report and chain each state to
  the next, ending at the case's state, so no change went unrecorded;
- ``rewards``: every award has the verify row that earned it, recording the same award.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.scope import served_grids
from grids.cases.models import OPEN_STATUSES, Case, CaseEvent, RewardEntry
from grids.cases.rewards import reward_view
from grids.city.directory import Directory

RULES = ("visible", "routing", "duplicates", "audit", "rewards")


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which case, which rule, what is wrong."""

    case_id: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.rule}: {self.detail}"


def check_store(session: Session, directory: Directory) -> list[Violation]:
    """Every violation of the invariants in the store, by case."""
    cases = {c.id: c for c in session.scalars(select(Case).order_by(Case.id))}
    staffed = served_grids(directory, ("officer", "chief"))
    found: list[Violation] = []
    for item in cases.values():
        found += [Violation(item.id, "visible", d) for d in _visibility(directory, staffed, item)]
        found += [Violation(item.id, "routing", d) for d in _routing(directory, item)]
        found += [Violation(item.id, "duplicates", d) for d in _duplicate(cases, item)]
    found += _audit(session, cases)
    found += _rewards(session)
    return sorted(found, key=lambda v: (v.case_id, RULES.index(v.rule)))


def _visibility(directory: Directory, staffed: set[int], item: Case) -> list[str]:
    if item.status not in OPEN_STATUSES:
        return []
    if item.grid_id is None:
        if item.assignee_kind == "city_dispatch" or item.officer_id is not None:
            return []
        return [f"outside every grid but with the {item.assignee_kind}, not the city dispatch"]
    problems = []
    if item.grid_id not in staffed and item.officer_id not in directory.people:
        problems.append("no officer works for its grid and no one holds it in person")
    for level, column in (("town", item.town_id), ("community", item.community_id)):
        unit = directory.ancestor(item.grid_id, level)
        if (unit.id if unit else None) != column:
            problems.append(
                f"its {level} is not its grid's, so the {level}'s dispatcher may not see it"
            )
    return problems


def _code(directory: Directory, unit_id: int | None) -> str | None:
    return directory.units[unit_id].code if unit_id in directory.units else None


def _routing(directory: Directory, item: Case) -> list[str]:
    routing = item.routing or {}
    assignee = routing.get("assignee") or {}
    officer = directory.people.get(item.officer_id) if item.officer_id else None
    grid = item.grid_id
    expected = {
        "grid": _code(directory, grid),
        "community": _code(directory, item.community_id),
        "town": _code(directory, item.town_id),
        "assignee kind": item.assignee_kind,
        "assignee unit": _code(directory, item.assignee_unit_id),
        "assignee person": officer.code if officer else None,
        "officer": officer.code if officer else None,
    }
    shown = {
        "grid": _ref_code(routing.get("grid")),
        "community": _ref_code(routing.get("community")),
        "town": _ref_code(routing.get("town")),
        "assignee kind": assignee.get("kind"),
        "assignee unit": _ref_code(assignee.get("unit")),
        "assignee person": _ref_code(assignee.get("person")),
        "officer": _ref_code(routing.get("officer")),
    }
    return [
        f"the routing block shows {name} {shown[name]}, the case has {expected[name]}"
        for name in expected
        if shown[name] != expected[name]
    ]


def _ref_code(ref: Any) -> str | None:
    return ref.get("code") if isinstance(ref, dict) else None


def _duplicate(cases: dict[int, Case], item: Case) -> list[str]:
    if item.duplicate_of_id is None:
        return []
    problems = []
    if item.status != "rejected" or item.reject_reason != "duplicate":
        problems.append(f"points at case {item.duplicate_of_id} but is {item.status}")
    original = cases.get(item.duplicate_of_id)
    if original is None:
        return [*problems, f"its original, case {item.duplicate_of_id}, does not exist"]
    if original.duplicate_of_id is not None:
        chain, current = [item.id], original
        while current.duplicate_of_id is not None and current.id not in chain:
            chain.append(current.id)
            current = cases.get(current.duplicate_of_id) or current
        kind = "a cycle" if current.id in chain else "a chain"
        problems.append(f"its original, case {original.id}, is itself a duplicate ({kind})")
    elif original.status == "rejected":
        problems.append(
            f"its original, case {original.id}, was rejected ({original.reject_reason})"
        )
    return problems


def _audit(session: Session, cases: dict[int, Case]) -> list[Violation]:
    rows = session.execute(
        select(CaseEvent.case_id, CaseEvent.action, CaseEvent.from_status, CaseEvent.to_status)
        .order_by(CaseEvent.case_id, CaseEvent.id)
        .execution_options(yield_per=10_000)
    )
    chains: dict[int, list[tuple[str, str | None, str]]] = defaultdict(list)
    for case_id, action, before, after in rows:
        chains[case_id].append((action, before, after))
    found = []
    for item in cases.values():
        chain = chains.get(item.id, [])
        if not chain or chain[0][1] is not None or chain[0][2] != "reported":
            found.append(Violation(item.id, "audit", "its first audit row is not its report"))
            continue
        state = "reported"
        for action, before, after in chain[1:]:
            if before != state:
                found.append(
                    Violation(
                        item.id,
                        "audit",
                        f"the {action} row starts from {before} but the case was {state}",
                    )
                )
            state = after
        if state != item.status:
            found.append(
                Violation(
                    item.id,
                    "audit",
                    f"the case is {item.status} but its last audit row leaves it {state}",
                )
            )
    return found


def _rewards(session: Session) -> list[Violation]:
    verified: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for case_id, data in session.execute(
        select(CaseEvent.case_id, CaseEvent.data).where(
            CaseEvent.action == "verify", CaseEvent.to_status == "verified"
        )
    ):
        verified[case_id].append(data or {})
    found = []
    for entry in session.scalars(select(RewardEntry).order_by(RewardEntry.case_id)):
        paid = reward_view(session, entry)
        rows = verified.get(entry.case_id)
        if not rows:
            found.append(
                Violation(
                    entry.case_id, "rewards", "an award without the verify row that earned it"
                )
            )
            continue
        recorded = [r["reward"] for r in rows if r.get("reward")]
        if recorded and not any(
            Decimal(r["yuan"]) == entry.amount_yuan and r["points"] == paid["points"]
            for r in recorded
        ):
            found.append(
                Violation(
                    entry.case_id,
                    "rewards",
                    f"the ledger pays {entry.amount_yuan} yuan and {paid['points']} points, "
                    f"the verify row recorded {recorded[-1]}",
                )
            )
    return found
