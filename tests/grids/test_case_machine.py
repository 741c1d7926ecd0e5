"""The case loop driven at random (a hypothesis state machine), on both backends.

Random users of every role report, acknowledge, verify, reject, merge, reassign
(to an officer or a grid), escalate, resolve, close and reopen. The test's own
model of the rules, built from the raw assignment rows, says what each attempt
must give; after every step the invariants hold and every user sees exactly the
cases the rules say.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import shapely
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from geo.crs import from_wgs84
from grids.accounts.models import User
from grids.accounts.reporters import own_reports
from grids.accounts.scope import scope_of
from grids.accounts.users import Forbidden, create_user
from grids.cases.escalation import escalate_overdue
from grids.cases.intake import CaseConfig, NewReport, require_role, submit
from grids.cases.invariants import check_store
from grids.cases.lifecycle import Action, apply_action
from grids.cases.models import Case, CaseEvent, RewardEntry
from grids.cases.queries import QueueFilter, get_case, own_conditions, queue, visible_case
from grids.city.directory import Directory
from grids.city.locator import GridLocator
from grids.city.models import Assignment, Person, Unit
from grids.db import utcnow
from grids.errors import Conflict, InvalidInput, NotFound
from tests.conftest import Store

MIN_STEPS = 200
STAFF = ("officer", "dispatcher", "patrol_leader", "planner", "admin")
CAN_ACT = ("officer", "dispatcher", "admin")
CAN_DISPATCH = ("dispatcher", "admin")
OPEN = ("routed", "acknowledged", "verified", "in_progress")
# action: (states it starts from, roles, state it leads to; None: decided by its parameters)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str | None]] = {
    "acknowledge": (("routed",), CAN_ACT, "acknowledged"),
    "verify": (("acknowledged",), CAN_ACT, None),
    "start": (("verified",), CAN_ACT, "in_progress"),
    "resolve": (("in_progress",), CAN_ACT, "resolved"),
    "close": (("resolved",), CAN_DISPATCH, "closed"),
    "reopen": (("resolved", "closed", "rejected"), CAN_DISPATCH, "routed"),
    "reassign": (OPEN, CAN_DISPATCH, "routed"),
    "escalate": (OPEN, CAN_DISPATCH, None),
    "merge": (("routed", "acknowledged", "verified"), CAN_DISPATCH, "rejected"),
}
FLOW = ("acknowledge", "verify", "start", "resolve", "close", "reopen", "escalate")
CATEGORIES = ("garbage_piled", "illegal_flyers")


@dataclass
class World:
    """The sample city, users of every role, and the rules' facts read from the raw rows."""

    store: Store
    locator: GridLocator
    config: CaseConfig
    users: dict[str, User]
    points: dict[str, tuple[float, float]]
    grids: list[str]
    people: list[str]  # person codes to reassign to: officers, a chief, a dispatcher, nobody
    parent: dict[int, int | None]
    level: dict[int, str]
    duties: dict[int, set[tuple[int, str]]]  # person id -> {(unit id, role)}
    person_ids: dict[str, int]
    steps: int = 0
    known: dict[tuple[int | None, tuple[str, ...]], set[int]] = field(default_factory=dict)

    @property
    def directory(self) -> Directory:
        return self.locator.directory

    def ancestry(self, unit_id: int) -> set[int]:
        chain: set[int] = set()
        current: int | None = unit_id
        while current is not None:
            chain.add(current)
            current = self.parent[current]
        return chain

    def grids_of(self, person_id: int | None, roles: tuple[str, ...]) -> set[int]:
        units = {u for u, role in self.duties.get(person_id or -1, set()) if role in roles}
        return {
            g for g, level in self.level.items() if level == "grid" and self.ancestry(g) & units
        }


@dataclass
class Seen:
    """The facts of a case that the rules look at."""

    id: int
    status: str
    category_id: int
    grid_id: int | None
    units: set[int | None]
    officer_id: int | None
    assignee_kind: str
    duplicate_of_id: int | None
    submitted_by_id: int | None
    reporter_id: int | None
    lat: float
    lon: float

    @classmethod
    def of(cls, item: Case) -> Seen:
        return cls(
            item.id,
            item.status,
            item.category_id,
            item.grid_id,
            {item.grid_id, item.community_id, item.town_id},
            item.officer_id,
            item.assignee_kind,
            item.duplicate_of_id,
            item.submitted_by_id,
            item.reporter_id,
            item.lat,
            item.lon,
        )


class Rules:
    """The test's own statement of who may see and do what."""

    def __init__(self, world: World) -> None:
        self.world = world

    def sees(self, user: User, case: Seen) -> bool:
        if user.role in ("admin", "planner"):
            return True
        if user.role in ("dispatcher", "patrol_leader"):
            scope = user.scope_unit_id
            return self.world.level[scope] == "city" or scope in case.units
        if user.role == "officer":
            grids = self.world.grids_of(user.person_id, ("officer", "chief"))
            return case.grid_id in grids or case.officer_id == user.person_id
        return False  # reporters read their own cases, see Machine.reporters_see_their_own

    def holds(self, user: User, case: Seen) -> bool:
        if user.role != "officer":
            return True
        if case.officer_id == user.person_id:
            return True
        if case.grid_id in self.world.grids_of(user.person_id, ("chief",)):
            return True
        return case.officer_id is None and case.grid_id in self.world.grids_of(
            user.person_id, ("officer", "chief")
        )

    def covers_grid(self, user: User, grid_id: int) -> bool:
        if user.role == "admin" or self.world.level[user.scope_unit_id or -1] == "city":
            return True
        return user.scope_unit_id in self.world.ancestry(grid_id)

    def outcome(
        self, user: User, case: Seen, action: str, params: dict[str, Any], cases: dict[int, Seen]
    ) -> str:
        """What an attempt must give: ok, missing (404), forbidden (403), conflict (409), invalid."""
        states, roles, _ = RULES[action]
        if user.role not in STAFF:
            return "forbidden"
        if not self.sees(user, case):
            return "missing"
        if user.role not in roles or not self.holds(user, case):
            return "forbidden"
        if case.status not in states:
            return "conflict"
        if action == "verify" and params.get("far"):
            return "invalid"
        if action == "merge":
            return self.merge_outcome(user, case, cases[params["duplicate_of"]], cases)
        if action == "reassign" and "officer" in params:
            person = self.world.person_ids.get(params["officer"])
            grids = self.world.grids_of(person, ("officer", "chief"))
            if not any(self.covers_grid(user, g) for g in grids):
                return "invalid"
        if action == "escalate" and (case.assignee_kind == "city_dispatch" or case.grid_id is None):
            return "conflict"
        return "ok"

    def merge_outcome(self, user: User, case: Seen, target: Seen, cases: dict[int, Seen]) -> str:
        if target.id == case.id:
            return "invalid"
        if not self.sees(user, target):
            return "missing"
        root = target
        while root.duplicate_of_id is not None and root.id != case.id:
            root = cases[root.duplicate_of_id]
        if root.id == case.id:
            return "conflict"
        if root.status == "rejected":
            return "conflict"
        if not self.sees(user, root):
            return "forbidden"
        return "invalid" if root.category_id != case.category_id else "ok"


def attempt(world: World, user: User, case_id: int, action: Action) -> str:
    """An action through the same calls as ``POST /api/v1/cases/{id}/{action}``."""
    try:
        with world.store.transaction() as session:
            require_role(user, *STAFF)
            item = get_case(session, case_id, scope_of(user, world.directory))
            seen = replace(action, expected_version=item.version)  # as the page sends it
            apply_action(session, world.directory, world.config, item, seen, user=user)
    except Forbidden:
        return "forbidden"
    except NotFound:
        return "missing"
    except Conflict:
        return "conflict"
    except InvalidInput:
        return "invalid"
    return "ok"


def machine_for(world: World) -> type[RuleBasedStateMachine]:
    rules = Rules(world)
    staff = sorted(who for who, u in world.users.items() if u.role != "reporter")
    reporters = ["citizen", "citizen2", "app:u1", "app:u2", "app", "dispatcher", "town_officer"]
    # those who act, weighted towards the ones the rules tell apart: the demo grid's officers
    # (only the one holding a case may act on it), its chief, its town's dispatcher
    duty = sorted(who for who in world.users if who.startswith("duty_"))
    actors = [*staff, *duty, *duty, "chief", "dispatcher", "dispatcher", "citizen"]
    dispatchers = ["dispatcher", "dispatcher", "far_dispatcher", "admin", "chief", "citizen"]
    targets = [("officer", code) for code in world.people] + [("grid", g) for g in world.grids]

    class Machine(RuleBasedStateMachine):
        cases = Bundle("cases")

        def __init__(self) -> None:
            super().__init__()
            self.started = utcnow() - dt.timedelta(seconds=1)
            self.ids: list[int] = []
            self.filed: dict[str, set[int]] = defaultdict(set)

        def seen(self) -> dict[int, Seen]:
            with world.store.sessions() as session:
                rows = session.scalars(select(Case).where(Case.id.in_(self.ids)))
                return {c.id: Seen.of(c) for c in rows}

        @rule(
            target=cases,
            who=st.sampled_from(reporters),
            where=st.sampled_from(["demo", "demo", "neighbour", "far"]),
            category=st.sampled_from(CATEGORIES),
            hours_ago=st.integers(0, 72),
        )
        def intake(self, who: str, where: str, category: str, hours_ago: int) -> int:
            world.steps += 1
            name, _, app_user = who.partition(":")
            lat, lon = world.points[where]
            report = NewReport(
                lat=lat,
                lon=lon,
                category=category,
                occurred_at=utcnow() - dt.timedelta(hours=hours_ago),
                reporter_id=app_user or None,
                reporter_phone="13800000000",  # the same number for everyone: no identity
            )
            case_id, _ = submit(
                world.store.sessions,
                world.locator,
                world.config,
                report,
                user=world.users[name],
                render=lambda _session, item: item.id,
            )
            self.ids.append(case_id)
            if world.users[name].role == "reporter" and (app_user or not world.users[name].is_app):
                self.filed[who].add(case_id)
            return case_id

        def attempt_and_check(
            self, who: str, case: int, action: str, body: dict[str, Any], *, far: bool = False
        ) -> None:
            """One attempt: it must give what the rules say, and do what it says."""
            world.steps += 1
            user = world.users[who]
            cases = self.seen()
            before = cases[case]
            expected = rules.outcome(user, before, action, body | {"far": far}, cases)
            got = attempt(world, user, case, Action(action, **body))
            assert got == expected, (who, action, body, before)
            if got == "ok":
                self.check_effect(before, action, body, cases)

        @rule(
            case=cases,
            action=st.sampled_from(FLOW),
            who=st.sampled_from(actors),
            data=st.data(),
        )
        def act(self, case: int, action: str, who: str, data: st.DataObject) -> None:
            body: dict[str, Any] = {}
            far = False
            if action == "verify":
                far = data.draw(st.booleans(), "far")
                valid = data.draw(st.booleans(), "valid")
                crs = data.draw(st.sampled_from(["wgs84", "gcj02", "bd09"]), "crs")
                with world.store.sessions() as session:
                    item = session.get(Case, case)
                    assert item is not None
                    lat, lon = item.lat + (0.05 if far else 0.0001), item.lon
                lat, lon = (float(v) for v in from_wgs84(lat, lon, crs))
                body = {"valid": valid, "lat": lat, "lon": lon, "crs": crs}
                if not valid:
                    body["reason"] = data.draw(st.sampled_from(["invalid", "not_ours"]), "reason")
            elif action == "resolve":
                body["note"] = "处理完毕"
            self.attempt_and_check(who, case, action, body, far=far)

        @rule(case=cases, original=cases, who=st.sampled_from(dispatchers))
        def merge(self, case: int, original: int, who: str) -> None:
            self.attempt_and_check(who, case, "merge", {"duplicate_of": original})

        @precondition(lambda self: any(c.duplicate_of_id for c in self.seen().values()))
        @rule(who=st.sampled_from(dispatchers), data=st.data())
        def merge_an_original_into_its_duplicate(self, who: str, data: st.DataObject) -> None:
            duplicates = sorted(c.id for c in self.seen().values() if c.duplicate_of_id)
            duplicate = self.seen()[data.draw(st.sampled_from(duplicates), "duplicate")]
            assert duplicate.duplicate_of_id is not None
            self.attempt_and_check(
                who, duplicate.duplicate_of_id, "merge", {"duplicate_of": duplicate.id}
            )

        @rule(case=cases, who=st.sampled_from(dispatchers), to=st.sampled_from(targets))
        def reassign(self, case: int, who: str, to: tuple[str, str]) -> None:
            self.attempt_and_check(who, case, "reassign", {to[0]: to[1]})

        def check_effect(
            self, before: Seen, action: str, body: dict[str, Any], cases: dict[int, Seen]
        ) -> None:
            after = self.seen()
            case = after[before.id]
            to_status = RULES[action][2]
            if action == "verify":
                to_status = "verified" if body["valid"] else "rejected"
            assert case.status == (to_status or before.status)
            if action == "merge":
                root = cases[body["duplicate_of"]]
                while root.duplicate_of_id is not None:
                    root = cases[root.duplicate_of_id]
                assert case.duplicate_of_id == root.id
                for other in cases.values():
                    if other.duplicate_of_id == before.id:
                        assert after[other.id].duplicate_of_id == root.id
            if action == "verify" and not body["valid"]:
                for other in cases.values():
                    if other.duplicate_of_id == before.id:
                        assert after[other.id].duplicate_of_id is None
            if action == "reassign" and "officer" in body:
                assert case.officer_id == world.person_ids[body["officer"]]
            if action == "reassign" and "grid" in body:
                assert case.grid_id == world.directory.units_by_code[body["grid"]].id
            if action == "verify" and body["valid"]:
                with world.store.sessions() as session:
                    paid = session.scalar(
                        select(RewardEntry.id).where(RewardEntry.case_id == case.id)
                    )
                    row = session.scalars(
                        select(CaseEvent.data)
                        .where(CaseEvent.case_id == case.id, CaseEvent.action == "verify")
                        .order_by(CaseEvent.id.desc())
                    ).first()
                assert row is not None and "reward" in row
                assert paid is None or case.reporter_id is not None

        @rule(days=st.integers(1, 5))
        def deadlines_pass(self, days: int) -> None:
            world.steps += 1
            with world.store.transaction() as session:
                escalate_overdue(
                    session,
                    world.directory,
                    world.config,
                    now=utcnow() + dt.timedelta(days=days),
                )

        @rule(case=cases, who=st.sampled_from(sorted(world.users)))
        def read(self, case: int, who: str) -> None:
            world.steps += 1
            user = world.users[who]
            with world.store.sessions() as session:
                if user.is_app:
                    with pytest.raises(InvalidInput, match="reporter=ID"):
                        own_reports(session, user, None)
                    return
                own = own_reports(session, user, None)
                try:
                    visible_case(session, case, scope_of(user, world.directory), own)
                    seen = True
                except NotFound:
                    seen = False
            if user.role == "reporter":
                assert seen == (case in self.filed[who])
            else:
                assert seen == rules.sees(user, self.seen()[case])

        @invariant()
        def the_invariants_hold(self) -> None:
            with world.store.sessions() as session:
                violations = check_store(session, world.directory)
            assert not violations, [str(v) for v in violations]

        @invariant()
        def staff_queues_hold_what_the_rules_say(self) -> None:
            cases = self.seen()
            with world.store.sessions() as session:
                for who in staff:
                    user = world.users[who]
                    rows, _ = queue(
                        session,
                        scope_of(user, world.directory),
                        QueueFilter(since=self.started),
                        limit=500,
                    )
                    got = {c.id for c in rows} & set(cases)
                    assert got == {i for i, c in cases.items() if rules.sees(user, c)}, who

        @invariant()
        def reporters_see_their_own(self) -> None:
            with world.store.sessions() as session:
                for who in ("citizen", "citizen2", "app:u1", "app:u2"):
                    name, _, app_user = who.partition(":")
                    own = own_reports(session, world.users[name], app_user or None)
                    got = set(
                        session.scalars(
                            select(Case.id).where(*own_conditions(own), Case.id.in_(self.ids))
                        )
                    )
                    assert got == self.filed[who], who

    return Machine


@pytest.fixture(scope="module")
def world(city_store: Store) -> Iterator[World]:
    with city_store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    directory = locator.directory
    demo = locator.route(23.02, 113.75)
    assert demo.grid is not None
    town = demo.unit_at("town")
    assert town is not None
    with city_store.transaction() as session:
        units = session.execute(select(Unit.id, Unit.code, Unit.level, Unit.parent_id)).all()
        duties: dict[int, set[tuple[int, str]]] = defaultdict(set)
        for person_id, unit_id, role in session.execute(
            select(Assignment.person_id, Assignment.unit_id, Assignment.role)
        ):
            duties[person_id].add((unit_id, role))
        person_ids = {code: pid for code, pid in session.execute(select(Person.code, Person.id))}

        def person(unit_code: str, role: str) -> str:
            unit = directory.units_by_code[unit_code]
            return directory.people_with_role(unit.id, role)[0].code

        own_grids = sorted(
            u.code
            for u in directory.units.values()
            if u.level == "grid" and u.code.startswith(town.code + "-")
        )
        far_grid = next(
            u.code
            for u in sorted(directory.units.values(), key=lambda u: u.code)
            if u.level == "grid" and not u.code.startswith(town.code + "-")
        )
        neighbour = next(g for g in own_grids if g != demo.grid.code)
        community = demo.unit_at("community")
        assert community is not None
        far_town = far_grid.split("-")[0]
        specs: dict[str, tuple[str, str | None, str | None, bool]] = {
            "admin": ("admin", None, None, False),
            "planner": ("planner", None, None, False),
            "dispatcher": ("dispatcher", town.code, None, False),
            "far_dispatcher": ("dispatcher", far_town, None, False),
            "patrol_leader": ("patrol_leader", town.code, None, False),
            "chief": ("officer", None, person(community.code, "chief"), False),
            "town_officer": ("officer", None, person(neighbour, "officer"), False),
            "far_officer": ("officer", None, person(far_grid, "officer"), False),
            "citizen": ("reporter", None, None, False),
            "citizen2": ("reporter", None, None, False),
            "app": ("reporter", None, None, True),
        }
        for officer in directory.people_with_role(demo.grid.id, "officer"):
            specs[f"duty_{officer.code}"] = ("officer", None, officer.code, False)
        users = {}
        for who, (role, scope, code, app) in specs.items():
            users[who] = create_user(
                session, who, role, scope_code=scope, person_code=code, app=app
            )[0]
        session.flush()
        session.expunge_all()
        geoms = {
            code: geom
            for code, geom in session.execute(
                select(Unit.code, Unit.geom).where(Unit.code.in_([neighbour, far_grid]))
            )
        }
    points = {"demo": (23.02, 113.75)}
    for name, code in (("neighbour", neighbour), ("far", far_grid)):
        inside = shapely.point_on_surface(geoms[code])
        points[name] = (inside.y, inside.x)
    people = [
        *(p.code for p in directory.people_with_role(demo.grid.id, "officer")),
        person(neighbour, "officer"),
        person(community.code, "chief"),
        person(far_grid, "officer"),
        person(town.code, "dispatcher"),
        "P99999",
    ]
    yield World(
        store=city_store,
        locator=locator,
        config=CaseConfig(secret="machine", timezone="Asia/Shanghai"),
        users=users,
        points=points,
        grids=[demo.grid.code, neighbour, far_grid],
        people=people,
        parent={u.id: u.parent_id for u in units},
        level={u.id: u.level for u in units},
        duties=dict(duties),
        person_ids=person_ids,
    )


def test_random_use_keeps_the_invariants_and_the_authorisation_rules(world: World) -> None:
    run_state_machine_as_test(
        machine_for(world),
        settings=settings(
            max_examples=10,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert world.steps >= MIN_STEPS, f"only {world.steps} steps; raise max_examples"
