"""The category taxonomy: departments and report categories, loaded from a TOML file.

The file (``data_samples/taxonomy.toml`` for the sample city) lists
``[[department]]`` and ``[[category]]`` tables; loading upserts both by code,
so a city edits the file and loads it again.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.city.hierarchy import bump_revision
from grids.city.models import Category, Department
from grids.errors import ImportRefused

GROUPS = ("governance", "public_security")
_CATEGORY_KEYS: dict[str, type | tuple[type, ...]] = {
    "code": str,
    "name": str,
    "group": str,
    "department": str,
    "ack_minutes": int,
    "verify_minutes": int,
    "close_minutes": int,
    "reward_yuan": (int, float),
    "points": int,
}


def load_taxonomy(session: Session, path: str | Path) -> tuple[int, int]:
    """Upsert departments and categories from ``path``; returns their counts."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImportRefused(f"{path}: no such file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ImportRefused(f"{path}: not valid TOML ({exc})") from exc
    departments = data.get("department", [])
    categories = data.get("category", [])
    if not categories:
        raise ImportRefused(f"{path}: no [[category]] tables")

    known = {d.code: d for d in session.scalars(select(Department))}
    for i, entry in enumerate(departments, start=1):
        for key in ("code", "name"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ImportRefused(f"{path}: department #{i} needs a text {key!r}")
        dept = known.get(entry["code"]) or Department(code=entry["code"])
        dept.name, dept.name_en = entry["name"], entry.get("name_en")
        session.add(dept)
        known[dept.code] = dept
    session.flush()

    existing = {c.code: c for c in session.scalars(select(Category))}
    seen: set[str] = set()
    for i, entry in enumerate(categories, start=1):
        _check_category(path, i, entry, known)
        if entry["code"] in seen:
            raise ImportRefused(f"{path}: category {entry['code']!r} appears twice")
        seen.add(entry["code"])
        cat = existing.get(entry["code"]) or Category(code=entry["code"])
        cat.name, cat.name_en, cat.group = entry["name"], entry.get("name_en"), entry["group"]
        cat.department = known[entry["department"]]
        cat.ack_minutes = entry["ack_minutes"]
        cat.verify_minutes = entry["verify_minutes"]
        cat.close_minutes = entry["close_minutes"]
        cat.reward_yuan = Decimal(str(entry["reward_yuan"]))
        cat.points = entry["points"]
        cat.duplicate_radius_m = float(entry.get("duplicate_radius_m", 100.0))
        session.add(cat)
    session.flush()
    bump_revision(session)
    return len(departments), len(categories)


def _check_category(path: Path, i: int, entry: dict[str, Any], departments: dict) -> None:
    """Refuse a category with a missing or mistyped key, naming the category and the key."""
    label = f"category #{i} ({entry.get('code', '?')})"
    for key, kind in _CATEGORY_KEYS.items():
        if key not in entry:
            raise ImportRefused(f"{path}: {label} has no {key!r}")
        if not isinstance(entry[key], kind) or isinstance(entry[key], bool):
            raise ImportRefused(f"{path}: {label}: {key!r} has the wrong type")
    if entry["group"] not in GROUPS:
        raise ImportRefused(f"{path}: {label}: group must be one of {GROUPS}")
    if entry["department"] not in departments:
        raise ImportRefused(
            f"{path}: {label}: unknown department {entry['department']!r}; "
            f"known: {sorted(departments)}"
        )
    if not 0 < entry["ack_minutes"] <= entry["verify_minutes"] <= entry["close_minutes"]:
        raise ImportRefused(
            f"{path}: {label}: deadlines must satisfy 0 < ack_minutes <= verify_minutes "
            "<= close_minutes"
        )
    try:
        if Decimal(str(entry["reward_yuan"])) < 0 or entry["points"] < 0:
            raise ImportRefused(f"{path}: {label}: reward and points cannot be negative")
    except InvalidOperation as exc:
        raise ImportRefused(f"{path}: {label}: reward_yuan is not a number") from exc
