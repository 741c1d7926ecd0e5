"""Shared by the analytics tests: apps with the analytics routes, and a case history.

``make_history`` plays three weeks of the sample city's own reports through
the real case loop (intake, acknowledge, verify, reject, merge duplicates,
resolve, close, the escalation checker every three hours) on a simulated
clock, so that the summaries can be checked against the raw rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from grids.cases.escalation import escalate_overdue
from grids.cases.intake import CaseConfig, NewReport, create_case
from grids.cases.lifecycle import Action, Conflict, apply_action
from grids.cases.models import Case
from grids.city.locator import GridLocator
from tests.conftest import Store

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
#: Three ISO weeks at the end of the sample city's year: W44, W45, W46 of 2026.
HISTORY_START = dt.datetime(2026, 10, 26, tzinfo=ZONE)
HISTORY_END = dt.datetime(2026, 11, 16, tzinfo=ZONE)
#: A day of the week the summaries are checked on (2026-W46, Monday 9 to Sunday 15 November).
SUMMARY_DAY = dt.date(2026, 11, 11)


def analytics_app(settings: Settings) -> FastAPI:
    """The service with the analytics routes (added only if the factory has not yet)."""
    return create_app(settings)


def samples_dir_for(sample_city_dir: Path, tmp: Path) -> Path:
    """A samples directory whose ``generated/`` is the small test city."""
    root = tmp / "samples"
    root.mkdir(exist_ok=True)
    link = root / "generated"
    if not link.exists():
        link.symlink_to(sample_city_dir, target_is_directory=True)
    return root


def settings_for(store: Store, tmp: Path, samples_dir: Path, secret: str = "analytics") -> Settings:
    return Settings(
        database_url=store.url,
        data_dir=tmp / "data",
        samples_dir=samples_dir,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key=secret,
    )


@dataclass(frozen=True)
class Step:
    """Something that happens to a case at a time (or the escalation checker's tick)."""

    at: dt.datetime
    order: int
    action: str
    key: str = ""
    data: tuple[tuple[str, Any], ...] = ()


def _lifecycle(
    rng: np.random.Generator, key: str, reported: dt.datetime
) -> list[tuple[dt.datetime, str, dict[str, Any]]]:
    """A random but plausible way through the loop for one case."""

    def later(t: dt.datetime, mean_minutes: float) -> dt.datetime:
        return t + dt.timedelta(minutes=float(rng.exponential(mean_minutes)) + 1)

    steps: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    if rng.random() < 0.12:
        return steps  # never acknowledged
    t = later(reported, 45)
    steps.append((t, "acknowledge", {}))
    fate = rng.random()
    if fate < 0.08:
        return steps  # acknowledged, never verified
    t = later(t, 150)
    if fate < 0.24:
        reason = ("invalid", "not_ours", "duplicate")[int(rng.integers(0, 3))]
        steps.append((t, "verify", {"valid": False, "reason": reason}))
        return steps
    steps.append((t, "verify", {"valid": True}))
    if rng.random() < 0.15:
        return steps
    t = later(t, 240)
    steps.append((t, "start", {}))
    t = later(t, 600)
    steps.append((t, "resolve", {"note": "已处置"}))
    if rng.random() < 0.2:
        return steps
    steps.append((later(t, 300), "close", {}))
    return steps


def make_history(
    store: Store, sample_city_dir: Path, *, per_week: int = 30, seed: int = 11
) -> dict[str, int]:
    """Play ``3 * per_week`` sample reports of 2026-W44..W46 (plus some duplicates)
    through the case loop; returns how many cases and steps it made."""
    reports = pd.read_parquet(sample_city_dir / "reports.parquet")
    times = reports["occurred_at"]
    window = reports[(times >= HISTORY_START) & (times < HISTORY_END - dt.timedelta(hours=1))]
    chosen = window.sample(n=min(len(window), 3 * per_week), random_state=seed)
    chosen = chosen.sort_values("occurred_at").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    steps: list[Step] = []
    for i, row in enumerate(chosen.to_dict("records")):
        occurred = row["occurred_at"].to_pydatetime()
        reported = occurred + dt.timedelta(minutes=float(rng.uniform(1, 30)))
        report = (
            ("lat", float(row["lat"])),
            ("lon", float(row["lon"])),
            ("category", str(row["category"])),
            ("occurred", occurred),
            ("reporter", f"wx-{i % 12}"),
        )
        steps.append(Step(reported, len(steps), "create", str(i), report))
        for at, action, data in _lifecycle(rng, str(i), reported):
            steps.append(Step(at, len(steps), action, str(i), tuple(data.items())))
        if rng.random() < 0.1:  # someone else reports the same thing, the dispatcher merges it
            again = reported + dt.timedelta(minutes=float(rng.uniform(5, 60)))
            copy = (
                *report[:3],
                ("occurred", again - dt.timedelta(minutes=2)),
                ("reporter", f"wx-dup-{i}"),
            )
            steps.append(Step(again, len(steps), "create", f"{i}d", copy))
            merge_at = again + dt.timedelta(minutes=float(rng.uniform(10, 120)))
            steps.append(Step(merge_at, len(steps), "merge", f"{i}d", (("original", str(i)),)))
    tick = HISTORY_START
    while tick < HISTORY_END + dt.timedelta(days=1):
        steps.append(Step(tick, len(steps), "escalate"))
        tick += dt.timedelta(hours=3)
    steps.sort(key=lambda s: (s.at, s.order))

    with store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone=TZ)
    config = CaseConfig(secret="history", timezone=TZ)
    ids: dict[str, int] = {}
    clock = [HISTORY_START]
    done = {"cases": 0, "steps": 0, "conflicts": 0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "grids.cases.intake.utcnow", lambda: clock[0]
        )  # audit rows on the simulated clock
        for step in steps:
            clock[0] = step.at.astimezone(dt.UTC)
            now = clock[0]
            data = dict(step.data)
            with store.transaction() as session:
                if step.action == "escalate":
                    escalate_overdue(session, locator.directory, config, now=now)
                    continue
                if step.action == "create":
                    item = create_case(
                        session,
                        locator,
                        config,
                        NewReport(
                            lat=data["lat"],
                            lon=data["lon"],
                            category=data["category"],
                            occurred_at=data["occurred"],
                            reporter_id=data["reporter"],
                        ),
                        user=None,
                        now=now,
                        allow_outside=True,
                    )
                    ids[step.key] = item.id
                    done["cases"] += 1
                    continue
                item = session.scalar(select(Case).where(Case.id == ids[step.key]))
                assert item is not None
                action = Action(
                    step.action,
                    valid=data.get("valid"),
                    reason=data.get("reason"),
                    note=data.get("note", ""),
                    lat=item.lat if step.action == "verify" else None,
                    lon=item.lon if step.action == "verify" else None,
                    duplicate_of=ids.get(data.get("original", "")),
                )
                try:
                    apply_action(
                        session, locator.directory, config, item, action, user=None, now=now
                    )
                    done["steps"] += 1
                except Conflict:
                    done["conflicts"] += 1
    return done
