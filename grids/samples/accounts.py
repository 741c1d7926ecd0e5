"""Demo accounts of the sample city: one of every role, to sign in with.

Their tokens are derived from the service's secret key, so the store keeps only
their hashes like every other token, and ``gridwatch samples accounts`` can
print them again (to whoever can read the secret, i.e. the operator).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.accounts.users import token_hash
from grids.city.dispatch import fallback_rungs
from grids.city.locator import GridLocator
from grids.city.models import Unit
from grids.errors import NotFound
from grids.samples.generate import DEMO_LAT, DEMO_LON

DEMO_PREFIX = "（演示）"


@dataclass(frozen=True)
class DemoAccount:
    """A demo user: what they are for, their name, role, scope or person, and token."""

    label: str
    name: str
    role: str
    scope: str | None
    person: str | None
    token: str


def demo_token(secret: str, label: str) -> str:
    digest = hmac.new(secret.encode(), f"demo-account:{label}".encode(), hashlib.sha256)
    return "demo-" + digest.hexdigest()[:40]


def demo_specs(
    locator: GridLocator, at: dt.datetime
) -> list[tuple[str, str, str, str | None, str | None]]:
    """(label, name, role, scope, person) of each demo account: the demo grid's town
    dispatcher and patrol leader, the officer on duty there at ``at`` and its grid chief."""
    decision = locator.route(DEMO_LAT, DEMO_LON, at=at)
    grid, town = decision.grid, decision.unit_at("town")
    if grid is None or town is None:
        raise NotFound("the demo point lies in no grid; build the sample city first")
    directory = locator.directory
    officer = decision.officer or next(iter(directory.people_with_role(grid.id, "officer")), None)
    chief = next((r[2] for r in fallback_rungs(directory, grid.id) if r[0] == "grid_chief"), None)
    specs: list[tuple[str, str, str, str | None, str | None]] = [
        ("dispatcher", f"{town.name}调度", "dispatcher", town.code, None),
    ]
    if officer is not None:
        specs.append(("officer", officer.name, "officer", None, officer.code))
    if chief is not None:
        specs.append(("grid chief", chief.name, "officer", None, chief.code))
    specs += [
        ("reporter", "热心居民", "reporter", None, None),
        ("patrol leader", f"{town.name}义警队长", "patrol_leader", town.code, None),
        ("planner", "规划分析员", "planner", None, None),
        ("admin", "系统管理员", "admin", None, None),
    ]
    return specs


def create_demo_accounts(
    session: Session, locator: GridLocator, secret: str, at: dt.datetime
) -> list[DemoAccount]:
    """The demo users (made once: an existing one is kept) and their tokens."""
    directory = locator.directory
    accounts = []
    for label, name, role, scope, person in demo_specs(locator, at):
        token = demo_token(secret, label)
        user = session.scalar(select(User).where(User.token_hash == token_hash(token)))
        if user is None:
            scope_id = directory.units_by_code[scope].id if scope else None
            person_info = next((p for p in directory.people.values() if p.code == person), None)
            user = User(
                name=name + DEMO_PREFIX,
                role=role,
                scope_unit_id=scope_id,
                person_id=person_info.id if person_info else None,
                token_hash=token_hash(token),
                active=True,
                is_app=False,
            )
            session.add(user)
        accounts.append(DemoAccount(label, user.name, role, scope, person, token))
    session.flush()
    return accounts


def demo_accounts(session: Session, secret: str) -> list[DemoAccount]:
    """The demo accounts the store holds, with their tokens (from the secret)."""
    labels = ("dispatcher", "officer", "grid chief", "reporter", "patrol leader", "planner")
    found = []
    for label in (*labels, "admin"):
        token = demo_token(secret, label)
        user = session.scalar(select(User).where(User.token_hash == token_hash(token)))
        if user is None:
            continue
        scope = session.get(Unit, user.scope_unit_id) if user.scope_unit_id else None
        found.append(
            DemoAccount(label, user.name, user.role, scope.code if scope else None, None, token)
        )
    return found


def demo_reporter_id(session: Session, secret: str) -> int | None:
    """The user id of the demo reporter, whose personal account files the busiest history."""
    token = demo_token(secret, "reporter")
    return session.scalar(select(User.id).where(User.token_hash == token_hash(token)))
