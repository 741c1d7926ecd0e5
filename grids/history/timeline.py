"""One case's way through the loop, played at its steps' own times for the bulk history.

The steps change the case's columns exactly as :func:`grids.cases.lifecycle.apply_action`
does (the same :func:`step_changes`, :func:`verify_changes`, :func:`merge_changes`,
public notes and version per change); a deadline that passes before the step it
waits for escalates the case one rung (:func:`grids.cases.assignment.escalate`)
when the checker, which runs every minute, would have seen it; a valid verify
earns the reporter the category's reward within the daily caps
(:func:`grids.cases.rewards.within_caps`), in the order the verifies happened.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from grids.cases.assignment import escalate
from grids.cases.escalation import DEADLINE_OF_STATUS
from grids.cases.intake import CaseConfig
from grids.cases.lifecycle import merge_changes, public_note, step_changes, verify_changes
from grids.cases.models import Case
from grids.cases.rewards import CAP_REACHED, FOUND_INVALID, NO_REPORTER, within_caps
from grids.city.directory import CategoryInfo, Directory

if TYPE_CHECKING:
    from grids.history.writer import FloatArray, Lifecycles

CHECK_EVERY_S = 60.0
"""The escalation checker's interval: a missed deadline escalates within a minute."""
RESOLVED_NOTE = "已处置 / handled on site"
OFFICER, DISPATCHER, SYSTEM = "officer", "dispatcher", "system"


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class Timeline:
    """Plays the lifecycles of a history's cases (in the order they arrived)."""

    def __init__(
        self,
        directory: Directory,
        config: CaseConfig,
        lifecycles: Lifecycles,
        times: FloatArray,
        limit: float,
    ) -> None:
        self.directory = directory
        self.config = config
        self.plan = lifecycles
        self.times = times
        self.limit = limit
        self.tz = ZoneInfo(config.timezone)
        # when each case stops being open (rejected or resolved), inf: still open at the end
        end = np.where(lifecycles.valid, lifecycles.resolve, lifecycles.verify)
        self.ends = np.where(end <= limit, end, np.inf)
        self.duplicate = np.zeros(len(times), dtype=bool)
        self.pending: list[tuple[float, int, int, CategoryInfo, dict[str, Any]]] = []
        self.rewards: list[dict[str, Any]] = []
        self.steps = {
            name: getattr(lifecycles, name).tolist()
            for name in ("ack", "verify", "start", "resolve", "close")
        }
        self.offsets = lifecycles.offset_m.tolist()

    def is_root(self, j: int) -> bool:
        """Whether case ``j`` can be merged into: not a duplicate and never rejected."""
        return not self.duplicate[j] and bool(self.plan.valid[j])

    def play(
        self, i: int, columns: dict[str, Any], *, root: int, first_case: int
    ) -> Iterator[dict[str, Any]]:
        """The audit rows of case ``i`` after intake, changing ``columns`` as it goes; ``root``
        is the open case it is merged into if it is one (-1: none)."""
        plan = self.plan
        merge_at = float(self.times[i] + plan.merge_delay[i])
        ack = self.steps["ack"][i]
        steps: list[tuple[float, str]] = []
        if root >= 0 and plan.duplicate_wish[i] and merge_at <= self.limit:
            self.duplicate[i] = True
            self.ends[i] = merge_at
            if ack < merge_at:
                steps.append((ack, "acknowledge"))
            steps.append((merge_at, "merge"))
        else:
            for name in ("ack", "verify", "start", "resolve", "close"):
                at = self.steps[name][i]
                if math.isnan(at):
                    break
                steps.append((at, "acknowledge" if name == "ack" else name))
        steps = [(at, name) for at, name in steps if at <= self.limit]
        for at, name in self._with_escalations(columns, steps):
            yield self._apply(i, columns, name, at, root=first_case + root)

    def _with_escalations(
        self, columns: dict[str, Any], steps: list[tuple[float, str]]
    ) -> Iterator[tuple[float, str]]:
        """The steps with an escalation wherever the deadline a state waits for passed first.

        Each step is applied to ``columns`` before this resumes, so the state and the
        deadline it works towards are read from them, as the checker reads the case.
        """
        entered = float(columns["reported_at"].timestamp())
        for at, name in [*steps, (self.limit, "")]:
            deadline = DEADLINE_OF_STATUS.get(columns["status"])
            due = columns["next_due"]
            if deadline and due is not None and deadline not in columns["missed"].split(","):
                seen = max(due.timestamp(), entered) + CHECK_EVERY_S / 2
                if seen < at:
                    yield seen, f"escalate:{deadline}"
            if not name:
                return
            yield at, name
            entered = at

    def _apply(
        self, i: int, columns: dict[str, Any], name: str, seconds: float, *, root: int
    ) -> dict[str, Any]:
        """Change the case's columns by one step and return its audit row."""
        now = _at(seconds)
        before = columns["status"]
        data: dict[str, Any] = {}
        role, note, lat, lon = OFFICER, "", None, None
        if name.startswith("escalate:"):
            deadline = name.split(":", 1)[1]
            note = f"missed the {deadline} deadline"
            item = Case(**{k: columns[k] for k in ("id", "status", "grid_id", "assignee_kind")})
            item.missed, item.routing = columns["missed"], columns["routing"]
            item.escalation_level = columns["escalation_level"]
            changes, to_status, data = escalate(
                self.directory, item, reason=note, deadline=deadline
            )
            name, role = "escalate", SYSTEM
        elif name == "verify":
            valid = bool(self.plan.valid[i])
            reason = None if valid else str(self.plan.reason[i])
            changes, to_status = verify_changes(
                now, close_due=columns["close_due"], valid=valid, reason=reason
            )
            lat, lon = self._position(i, columns)
            data = {} if valid else {"reason": reason, "reward": None, "no_reward": FOUND_INVALID}
            if valid and columns["reporter_id"] is None:
                data = {"reward": None, "no_reward": NO_REPORTER}
        elif name == "merge":
            changes, to_status = merge_changes(root), "rejected"
            data, role = {"duplicate_of": root}, DISPATCHER
        else:
            changes, to_status = step_changes(
                name, now, verify_due=columns["verify_due"], close_due=columns["close_due"]
            )
            role = DISPATCHER if name == "close" else OFFICER
            note = RESOLVED_NOTE if name == "resolve" else ""
        columns.update(changes)
        columns.update(status=to_status, updated_at=now, version=columns["version"] + 1)
        row = {
            "at": now,
            "action": name,
            "actor_user_id": None,
            "actor_role": role,
            "from_status": before,
            "to_status": to_status,
            "note": note,
            "public_note": public_note(name, before, to_status),
            "lat": lat,
            "lon": lon,
            "data": data,
        }
        if name == "verify" and to_status == "verified" and columns["reporter_id"] is not None:
            category = self.directory.categories[columns["routing"]["category"]["code"]]
            self.pending.append((seconds, columns["id"], columns["reporter_id"], category, row))
            row["data"] = {"reward": None}  # filled in by award_all, in the verifies' order
            row["_grid"], row["_town"] = columns["grid_id"], columns["town_id"]
        return row

    def _position(self, i: int, columns: dict[str, Any]) -> tuple[float, float]:
        """The officer's position at the verify: near the report, within the verify limit."""
        east, north = self.offsets[i]  # at most 150 m each way: well within the verify limit
        lat = columns["lat"] + north / 110_574.0
        lon = columns["lon"] + east / (111_320.0 * math.cos(math.radians(columns["lat"])))
        return lat, lon

    def award_all(self) -> None:
        """Rewards of the valid verifies, in their order, within each reporter's daily caps."""
        paid: dict[tuple[int, dt.date], tuple[Decimal, int]] = {}
        for seconds, case_id, reporter, category, row in sorted(
            self.pending, key=lambda p: (p[0], p[1])
        ):
            now = _at(seconds)
            day = (reporter, now.astimezone(self.tz).date())
            paid_yuan, paid_points = paid.get(day, (Decimal(0), 0))
            yuan, points, capped = within_caps(
                self.config, Decimal(category.reward_yuan), category.points, paid_yuan, paid_points
            )
            grid, town = row.pop("_grid"), row.pop("_town")
            if yuan == 0 and points == 0:
                row["data"] = {"reward": None, "no_reward": CAP_REACHED}
                continue
            paid[day] = (paid_yuan + yuan, paid_points + points)
            note = CAP_REACHED if capped else ""
            view = {"yuan": str(yuan.quantize(Decimal("0.01"))), "points": points, "note": note}
            row["data"] = {"reward": view}
            self.rewards.append(
                {
                    "case_id": case_id,
                    "reporter_id": reporter,
                    "grid_id": grid,
                    "town_id": town,
                    "amount_yuan": yuan,
                    "points": points,
                    "reason": f"verified report #{case_id} ({category.code})",
                    "note": note,
                    "awarded_at": now,
                }
            )
