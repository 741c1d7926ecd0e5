"""Loading the taxonomy, people and rosters; refusals name the line or key at fault."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import shapely
from sqlalchemy import func, select

from grids.city.directory import Directory
from grids.city.hierarchy import import_units
from grids.city.models import Assignment, Category, RosterEntry
from grids.city.people import import_people, import_rosters
from grids.city.taxonomy import load_taxonomy
from grids.errors import ImportRefused
from tests.conftest import TAXONOMY, Store
from tests.grids.test_hierarchy import city_with_towns, write

REQUIRED = {
    "fire_exit_blocked",
    "billboard_hazard",
    "garbage_piled",
    "illegal_parking",
    "illegal_flyers",
    "ebike_charging_hazard",
    "crime_lead",
    "illegal_gathering",
    "emergency_incident",
}


def test_sample_taxonomy_loads_with_departments_and_deadlines(store: Store) -> None:
    with store.transaction() as session:
        departments, categories = load_taxonomy(session, TAXONOMY)
        assert (departments, categories) == (10, 25)
        load_taxonomy(session, TAXONOMY)  # loading again updates, never duplicates
    with store.sessions() as session:
        directory = Directory.load(session)
        assert session.scalar(select(func.count()).select_from(Category)) == 25
    assert set(directory.categories) >= REQUIRED
    fire = directory.categories["fire_exit_blocked"]
    assert directory.departments[fire.department].name
    assert 0 < fire.ack_minutes <= fire.verify_minutes <= fire.close_minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[category]]\ncode = 'x'\n", "has no 'name'"),
        ("not toml = = 1", "not valid TOML"),
        (
            "[[department]]\ncode='d'\nname='D'\n[[category]]\ncode='x'\nname='X'\ngroup='governance'\n"
            "department='nope'\nack_minutes=1\nverify_minutes=2\nclose_minutes=3\nreward_yuan=1\n"
            "points=1\n",
            "unknown department 'nope'",
        ),
        (
            "[[department]]\ncode='d'\nname='D'\n[[category]]\ncode='x'\nname='X'\ngroup='governance'\n"
            "department='d'\nack_minutes=10\nverify_minutes=2\nclose_minutes=3\nreward_yuan=1\n"
            "points=1\n",
            "ack_minutes <= verify_minutes",
        ),
    ],
)
def test_bad_taxonomy_is_refused(store: Store, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ImportRefused, match=message), store.transaction() as session:
        load_taxonomy(session, path)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Category)) == 0


def people_and_grid(store: Store, tmp_path: Path) -> None:
    city_with_towns(store, tmp_path)
    grids = write(
        tmp_path / "grids.geojson",
        [
            {
                "code": "G1",
                "name": "第1网格",
                "parent_code": "A",
                "geometry": shapely.box(113.70, 23.00, 113.75, 23.05),
            }
        ],
    )
    with store.transaction() as session:
        import_units(session, grids, level="grid")


def test_people_and_rosters_import_and_replace(store: Store, tmp_path: Path) -> None:
    people_and_grid(store, tmp_path)
    people = tmp_path / "people.csv"
    people.write_text(
        "code,name,phone,role,unit_code\nP1,王伟,13800000001,officer,G1\nP2,李娜,,chief,G1\n"
        "P3,张敏,13800000003,dispatcher,A\n"
    )
    rosters = tmp_path / "rosters.csv"
    rosters.write_text(
        "person_code,unit_code,weekdays,start,end,valid_from,valid_until\n"
        "P1,G1,12345,08:30,17:30,2026-01-01,\nP1,G1,67,22:00,06:00,2026-01-01,2026-12-31\n"
    )
    with store.transaction() as session:
        assert import_people(session, people) == (3, 3)
        assert import_rosters(session, rosters) == 2
        assert import_rosters(session, rosters) == 2  # replaces the grid's entries
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RosterEntry)) == 2
        assert session.scalar(select(func.count()).select_from(Assignment)) == 3
        directory = Directory.load(session)
    grid = directory.units_by_code["G1"]
    night = directory.shifts[grid.id][1]
    assert (night.start, night.end, night.weekdays) == (dt.time(22), dt.time(6), frozenset({6, 7}))


@pytest.mark.parametrize(
    ("people", "rosters", "message"),
    [
        ("code,name,phone,role\nP1,a,1,officer\n", None, "missing columns \\['unit_code'\\]"),
        ("code,name,phone,role,unit_code\nP1,a,1,boss,G1\n", None, "unknown roles \\['boss'\\]"),
        (
            "code,name,phone,role,unit_code\nP1,a,1,officer,A\n",
            None,
            "an officer belongs to a grid",
        ),
        ("code,name,phone,role,unit_code\nP1,a,1,officer,NOPE\n", None, "unknown unit codes"),
        (
            "code,name,phone,role,unit_code\nP1,a,1,officer,G1\n",
            "person_code,unit_code,weekdays,start,end,valid_from,valid_until\nP1,G1,18,08:00,17:00,2026-01-01,\n",
            "line 2: weekdays '18'",
        ),
        (
            "code,name,phone,role,unit_code\nP1,a,1,officer,G1\n",
            "person_code,unit_code,weekdays,start,end,valid_from,valid_until\nP1,G1,1,8h,17:00,2026-01-01,\n",
            "line 2: start '8h' is not a time",
        ),
    ],
)
def test_bad_people_and_rosters_are_refused(
    store: Store, tmp_path: Path, people: str, rosters: str | None, message: str
) -> None:
    people_and_grid(store, tmp_path)
    (tmp_path / "p.csv").write_text(people)
    with pytest.raises(ImportRefused, match=message), store.transaction() as session:
        import_people(session, tmp_path / "p.csv")
        if rosters is not None:
            (tmp_path / "r.csv").write_text(rosters)
            import_rosters(session, tmp_path / "r.csv")
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Assignment)) == 0
