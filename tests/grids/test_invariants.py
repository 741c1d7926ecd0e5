"""`gridwatch check`: every invariant of the case loop is reported when broken, on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from api.cli import app
from grids.accounts.models import User
from grids.accounts.users import create_user
from grids.cases.intake import CaseConfig, NewReport, create_case
from grids.cases.invariants import check_store
from grids.cases.lifecycle import Action, apply_action
from grids.cases.models import Case, RewardEntry
from grids.city.directory import Directory
from grids.city.locator import GridLocator
from grids.city.models import Person, Unit
from grids.samples import DEMO_LAT, DEMO_LON
from grids.samples.load import load_sample_city
from tests.conftest import BACKENDS, TAXONOMY, Store, make_store

CONFIG = CaseConfig(secret="check")


@dataclass
class Broken:
    """A store with the sample city, to break rule by rule (not checked at teardown)."""

    store: Store
    locator: GridLocator

    def case(self, category: str = "garbage_piled") -> int:
        with self.store.transaction() as session:
            citizen = create_user(session, "c", "reporter")[0]
            item = create_case(
                session,
                self.locator,
                CONFIG,
                NewReport(lat=DEMO_LAT, lon=DEMO_LON, category=category),
                user=citizen,
            )
            return item.id

    def act(self, case_id: int, action: Action) -> None:
        with self.store.transaction() as session:
            item = session.get(Case, case_id)
            assert item is not None
            apply_action(session, self.locator.directory, CONFIG, item, action, user=None)

    def change(self, case_id: int, **values: object) -> None:
        with self.store.transaction() as session:
            session.execute(update(Case).where(Case.id == case_id).values(**values))

    def violations(self, case_id: int) -> list[tuple[str, str]]:
        with self.store.sessions() as session:
            found = check_store(session, Directory.load(session))
        return [(v.rule, v.detail) for v in found if v.case_id == case_id]


@pytest.fixture(scope="module", params=BACKENDS)
def broken(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_city_dir: Path
) -> Iterator[Broken]:
    store = make_store(request.param, tmp_path_factory.mktemp("broken"), request)
    with store.transaction() as session:
        load_sample_city(session, sample_city_dir, TAXONOMY)
    with store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    yield Broken(store, locator)


def test_a_case_taken_round_the_loop_breaks_nothing(broken: Broken) -> None:
    original = broken.case()
    duplicate = broken.case()
    broken.act(duplicate, Action("merge", duplicate_of=original))
    broken.act(original, Action("escalate", note="urgent"))
    other_grid = next(
        u.code
        for u in broken.locator.directory.units.values()
        if u.level == "grid" and not u.code.startswith("DG20")
    )
    broken.act(original, Action("reassign", grid=other_grid))
    broken.act(original, Action("acknowledge"))
    broken.act(original, Action("verify", valid=True, lat=DEMO_LAT, lon=DEMO_LON))
    assert broken.violations(original) == []
    assert broken.violations(duplicate) == []


def test_an_open_case_moved_out_of_its_towns_sight_is_reported(broken: Broken) -> None:
    case_id = broken.case()
    with broken.store.sessions() as session:
        other_town = session.scalar(
            select(Unit.id).where(Unit.level == "town", Unit.code != "DG20")
        )
    broken.change(case_id, town_id=other_town)
    rules = broken.violations(case_id)
    assert (
        "visible",
        "its town is not its grid's, so the town's dispatcher may not see it",
    ) in rules
    assert any(rule == "routing" and "town" in detail for rule, detail in rules)


def test_an_open_case_no_officer_can_see_is_reported(broken: Broken) -> None:
    case_id = broken.case()
    with broken.store.sessions() as session:
        unstaffed = session.scalar(
            select(Unit.id).where(Unit.level == "community").order_by(Unit.code)
        )
    broken.change(case_id, grid_id=unstaffed, officer_id=None)  # a community is no grid
    assert any(rule == "visible" and "no officer" in d for rule, d in broken.violations(case_id))


def test_an_assignee_the_routing_block_does_not_show_is_reported(broken: Broken) -> None:
    case_id = broken.case()
    with broken.store.sessions() as session:
        someone = session.scalar(select(Person.id).order_by(Person.code.desc()))
    broken.change(case_id, officer_id=someone)
    rules = broken.violations(case_id)
    assert any(rule == "routing" and "officer" in detail for rule, detail in rules)


def test_a_duplicate_cycle_and_a_rejected_original_are_reported(broken: Broken) -> None:
    first, second = broken.case(), broken.case()
    for case_id, other in ((first, second), (second, first)):
        broken.change(case_id, status="rejected", reject_reason="duplicate", duplicate_of_id=other)
    assert any("cycle" in d for rule, d in broken.violations(first) if rule == "duplicates")
    original, duplicate = broken.case(), broken.case()
    broken.act(duplicate, Action("merge", duplicate_of=original))
    broken.change(original, status="rejected", reject_reason="invalid")
    assert ("duplicates", f"its original, case {original}, was rejected (invalid)") in (
        broken.violations(duplicate)
    )


def test_a_state_change_without_its_audit_row_is_reported(broken: Broken) -> None:
    case_id = broken.case()
    broken.change(case_id, status="closed")
    assert ("audit", "the case is closed but its last audit row leaves it routed") in (
        broken.violations(case_id)
    )


def test_a_reward_without_its_verify_row_is_reported(broken: Broken) -> None:
    case_id = broken.case()
    with broken.store.transaction() as session:
        item = session.get(Case, case_id)
        assert item is not None and item.reporter_id is not None
        session.add(
            RewardEntry(
                case_id=case_id,
                reporter_id=item.reporter_id,
                amount_yuan=Decimal("5.00"),
                awarded_at=dt.datetime.now(dt.UTC),
            )
        )
    assert ("rewards", "an award without the verify row that earned it") in broken.violations(
        case_id
    )


def test_gridwatch_check_exits_2_and_names_each_violation(
    broken: Broken, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case_id = broken.case()
    broken.change(case_id, status="closed")
    runner = CliRunner()
    failing = runner.invoke(app, ["check"], env={"GRIDWATCH_DATABASE_URL": broken.store.url})
    assert failing.exit_code == 2, failing.output
    assert f"case {case_id}: audit: the case is closed" in failing.output
    assert " violation" in failing.output
    empty = make_store(broken.store.backend, tmp_path, request)
    clean = runner.invoke(app, ["check"], env={"GRIDWATCH_DATABASE_URL": empty.url})
    assert clean.exit_code == 0, clean.output
    assert "no violations" in clean.output
    with empty.sessions() as session:
        assert session.scalar(select(User.id)) is None  # the check wrote nothing
