"""The dispatch ladder: officer on duty → grid chief → community → town → city."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from grids.city.directory import (
    CategoryInfo,
    DepartmentInfo,
    Directory,
    PersonInfo,
    Shift,
    UnitInfo,
)
from grids.city.dispatch import decide
from grids.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
CITY, TOWN, COMM, GRID, BARE, ORPHAN = 1, 2, 3, 4, 5, 6
ALICE, BOB, CAROL, DAVE = 10, 11, 12, 13
ALWAYS = frozenset(range(1, 8))
FROM = dt.date(2026, 1, 1)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in the week of Monday 2026-11-16 (day 1 = Monday)."""
    return dt.datetime(2026, 11, 15 + day, hour, minute, tzinfo=TZ)


def directory(
    shifts: list[tuple[int, Shift]],
    roles: list[tuple[int, int, str]] | None = None,
) -> Directory:
    units = [
        UnitInfo(CITY, "C", "东莞市", None, "city", None),
        UnitInfo(TOWN, "T", "南城街道", None, "town", CITY),
        UnitInfo(COMM, "CM", "横涌社区", None, "community", TOWN),
        UnitInfo(GRID, "G", "第1网格", None, "grid", COMM),
        UnitInfo(BARE, "GB", "第2网格", None, "grid", COMM),
        UnitInfo(ORPHAN, "GO", "第3网格", None, "grid", TOWN),
    ]
    people = [
        PersonInfo(ALICE, "P1", "Alice"),
        PersonInfo(BOB, "P2", "Bob"),
        PersonInfo(CAROL, "P3", "Carol"),
        PersonInfo(DAVE, "P4", "Dave"),
    ]
    departments = [DepartmentInfo("fire", "消防救援", "Fire")]
    categories = [
        CategoryInfo(
            "fire_exit_blocked",
            "消防通道堵塞",
            "Blocked fire exit",
            "governance",
            "fire",
            30,
            120,
            1440,
            Decimal("20"),
            10,
            100.0,
        )
    ]
    return Directory(1, units, people, roles or [], shifts, departments, categories)


def shift(person: int, days: str, start: str, end: str, until: dt.date | None = None) -> Shift:
    return Shift(
        person,
        frozenset(int(d) for d in days),
        dt.time.fromisoformat(start),
        dt.time.fromisoformat(end),
        FROM,
        until,
    )


def test_officer_on_duty_takes_the_case_with_reasons() -> None:
    d = directory([(GRID, shift(ALICE, "12345", "08:30", "17:30"))])
    decision = decide(d, GRID, "inside", 0.0, at(3, 10), "fire_exit_blocked")
    assert (decision.assignee_kind, decision.officer.code, decision.fallback) == (
        "officer",
        "P1",
        None,
    )
    assert decision.department.code == "fire"
    assert [u.code for u in decision.path] == ["C", "T", "CM", "G"]
    assert any("Alice" in r and "on duty" in r for r in decision.reasons)
    assert decision.to_dict()["town"]["code"] == "T"


def test_shift_boundaries_weekdays_and_validity() -> None:
    d = directory([(GRID, shift(ALICE, "12345", "08:30", "17:30", until=dt.date(2026, 11, 18)))])
    assert decide(d, GRID, "inside", 0.0, at(1, 8, 30), None).assignee_kind == "officer"
    assert decide(d, GRID, "inside", 0.0, at(1, 17, 30), None).assignee_kind != "officer"
    assert decide(d, GRID, "inside", 0.0, at(6, 10), None).assignee_kind != "officer"  # Saturday
    assert decide(d, GRID, "inside", 0.0, at(4, 10), None).assignee_kind != "officer"  # expired


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    d = directory([(GRID, shift(BOB, "5", "22:00", "06:00"))])  # Friday night
    assert decide(d, GRID, "inside", 0.0, at(5, 23), None).officer.code == "P2"
    assert decide(d, GRID, "inside", 0.0, at(6, 5, 59), None).officer.code == "P2"  # Saturday
    assert decide(d, GRID, "inside", 0.0, at(5, 5), None).assignee_kind != "officer"


def test_fresh_shift_takes_over_from_one_ending() -> None:
    d = directory(
        [
            (GRID, shift(ALICE, "1234567", "08:00", "17:00")),
            (GRID, shift(BOB, "1234567", "16:00", "23:00")),
        ]
    )
    assert decide(d, GRID, "inside", 0.0, at(2, 16, 30), None).officer.code == "P2"
    assert decide(d, GRID, "inside", 0.0, at(2, 15), None).officer.code == "P1"


def test_grid_without_roster_uses_its_assigned_officer() -> None:
    d = directory([], roles=[(CAROL, GRID, "officer")])
    decision = decide(d, GRID, "inside", 0.0, at(7, 3), None)
    assert (decision.assignee_kind, decision.officer.code) == ("officer", "P3")


def test_fallback_ladder() -> None:
    night = at(7, 3)
    roster = [(GRID, shift(ALICE, "12345", "08:30", "17:30"))]
    # grid chief of the grid itself beats the community's chief
    d = directory(roster, roles=[(BOB, GRID, "chief"), (CAROL, COMM, "chief")])
    decision = decide(d, GRID, "inside", 0.0, night, None)
    assert (decision.assignee_kind, decision.officer.code, decision.fallback) == (
        "grid_chief",
        "P2",
        "no_officer_on_duty",
    )
    # the community's chief is the grid chief of all its grids
    d = directory(roster, roles=[(CAROL, COMM, "chief")])
    decision = decide(d, GRID, "inside", 0.0, night, None)
    assert (decision.assignee_kind, decision.officer.code, decision.assignee_unit.code) == (
        "grid_chief",
        "P3",
        "CM",
    )
    # no chief anywhere: the community workstation
    decision = decide(directory(roster), GRID, "inside", 0.0, night, None)
    assert (decision.assignee_kind, decision.assignee_unit.code, decision.officer) == (
        "community",
        "CM",
        None,
    )
    # a grid with no officer at all says so
    assert decide(directory([]), BARE, "inside", 0.0, night, None).fallback == "no_officer_assigned"
    # a grid directly under a town: the town's dispatch centre
    decision = decide(directory([]), ORPHAN, "inside", 0.0, night, None)
    assert (decision.assignee_kind, decision.assignee_unit.code) == ("town_dispatch", "T")


def test_points_outside_every_grid_go_to_the_city_dispatch_centre() -> None:
    decision = decide(directory([]), None, "outside", None, at(1, 10), "fire_exit_blocked")
    assert (decision.assignee_kind, decision.assignee_unit.code, decision.grid) == (
        "city_dispatch",
        "C",
        None,
    )
    assert decision.fallback == "outside_all_grids"
    assert decision.department.code == "fire"


def test_snapped_points_say_how_far() -> None:
    d = directory([(GRID, shift(ALICE, "1234567", "00:00", "00:00"))])  # round the clock
    decision = decide(d, GRID, "snapped", 42.4, at(1, 10), None)
    assert decision.officer.code == "P1"
    assert decision.to_dict()["snap_distance_m"] == 42.4
    assert "42 m outside grid G" in decision.reasons[0]


def test_unknown_category_is_refused_with_the_valid_codes() -> None:
    with pytest.raises(InvalidInput, match=r"unknown category 'fire'.*fire_exit_blocked"):
        decide(directory([]), GRID, "inside", 0.0, at(1, 10), "fire")
