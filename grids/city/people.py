"""People and duty rosters, imported from CSV files.

``people.csv``: ``code,name,phone,role,unit_code`` — one row per (person,
unit, role); a person working for several grids has several rows.
``rosters.csv``: ``person_code,unit_code,weekdays,start,end,valid_from,valid_until``
— recurring shifts in local time; ``weekdays`` holds ISO digits (1 = Monday).
Both imports upsert and are all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from grids.city.hierarchy import bump_revision
from grids.city.models import ROLES, Assignment, Person, RosterEntry, Unit
from grids.errors import ImportRefused, with_article

PEOPLE_COLUMNS = ("code", "name", "phone", "role", "unit_code")
ROSTER_COLUMNS = (
    "person_code",
    "unit_code",
    "weekdays",
    "start",
    "end",
    "valid_from",
    "valid_until",
)
_ROLE_LEVELS = {"officer": {"grid"}, "chief": {"grid", "community"}, "dispatcher": {"town", "city"}}


def _read_csv(path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise ImportRefused(f"{path}: the file is empty") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ImportRefused(
            f"{path}: missing columns {missing}; expected {list(columns)}, "
            f"found {list(frame.columns)}"
        )
    if len(frame) == 0:
        raise ImportRefused(f"{path}: no rows")
    return frame


def _units_by_code(session: Session, codes: set[str], path: Path) -> dict[str, Unit]:
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    missing = sorted(codes - set(found))
    if missing:
        raise ImportRefused(f"{path}: unknown unit codes {missing[:5]}; import the units first")
    return found


def import_people(session: Session, path: str | Path) -> tuple[int, int]:
    """Upsert people and replace the assignments of the people in the file."""
    path = Path(path)
    frame = _read_csv(path, PEOPLE_COLUMNS)
    bad_roles = sorted(set(frame["role"]) - set(ROLES))
    if bad_roles:
        raise ImportRefused(f"{path}: unknown roles {bad_roles}; use one of {list(ROLES)}")
    units = _units_by_code(session, set(frame["unit_code"]), path)
    for row in frame.to_dict("records"):
        code, role, unit = row["code"], row["role"], units[row["unit_code"]]
        if unit.level not in _ROLE_LEVELS[role]:
            raise ImportRefused(
                f"{path}: {code} is {role} of {unit.code}, a {unit.level}; "
                f"{with_article(role)} belongs to a {' or '.join(sorted(_ROLE_LEVELS[role]))}"
            )
    people = {
        p.code: p
        for p in session.scalars(select(Person).where(Person.code.in_(set(frame["code"]))))
    }
    for code, rows in frame.groupby("code", sort=False):
        first = rows.iloc[0]
        person = people.get(str(code)) or Person(code=str(code))
        person.name, person.phone = first["name"], first["phone"] or None
        session.add(person)
        people[person.code] = person
    session.flush()
    ids = [p.id for p in people.values()]
    session.execute(delete(Assignment).where(Assignment.person_id.in_(ids)))
    pairs = frame[["code", "unit_code", "role"]].drop_duplicates()
    session.add_all(
        Assignment(person_id=people[c].id, unit_id=units[u].id, role=r)
        for c, u, r in pairs.itertuples(index=False)
    )
    session.flush()
    bump_revision(session)
    return len(people), len(pairs)


def import_rosters(session: Session, path: str | Path) -> int:
    """Replace the roster entries of every unit named in the file."""
    path = Path(path)
    frame = _read_csv(path, ROSTER_COLUMNS)
    units = _units_by_code(session, set(frame["unit_code"]), path)
    people = {
        p.code: p
        for p in session.scalars(select(Person).where(Person.code.in_(set(frame["person_code"]))))
    }
    missing = sorted(set(frame["person_code"]) - set(people))
    if missing:
        raise ImportRefused(f"{path}: unknown people {missing[:5]}; import people.csv first")
    entries = []
    for line, row in enumerate(frame.to_dict("records"), start=2):
        entries.append(
            RosterEntry(
                person_id=people[row["person_code"]].id,
                unit_id=units[row["unit_code"]].id,
                weekdays=_weekdays(row["weekdays"], path, line),
                start_time=_time(row["start"], path, line, "start"),
                end_time=_time(row["end"], path, line, "end"),
                valid_from=_date(row["valid_from"], path, line, "valid_from"),
                valid_until=_date(row["valid_until"], path, line, "valid_until")
                if row["valid_until"]
                else None,
            )
        )
    unit_ids = [u.id for u in units.values()]
    session.execute(delete(RosterEntry).where(RosterEntry.unit_id.in_(unit_ids)))
    session.add_all(entries)
    session.flush()
    bump_revision(session)
    return len(entries)


def _weekdays(text: str, path: Path, line: int) -> str:
    digits = "".join(sorted(set(text.strip())))
    if not digits or any(d not in "1234567" for d in digits):
        raise ImportRefused(
            f"{path}, line {line}: weekdays {text!r} must be ISO digits 1-7 "
            "(1 = Monday), e.g. 12345"
        )
    return digits


def _time(text: str, path: Path, line: int, column: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError as exc:
        raise ImportRefused(
            f"{path}, line {line}: {column} {text!r} is not a time like 08:30"
        ) from exc


def _date(text: str, path: Path, line: int, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ImportRefused(
            f"{path}, line {line}: {column} {text!r} is not a date like 2026-01-31"
        ) from exc
