"""Loading the generated sample city into the store, through the same importers users run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grids.city.hierarchy import FieldMap, ImportReport, ensure_city, import_units
from grids.city.locator import GridLocator
from grids.city.models import Unit
from grids.city.people import import_people, import_rosters
from grids.city.taxonomy import load_taxonomy
from grids.patrols.service import import_points, save_member, save_team

CITY_CODE = "DG"
CITY_NAME = "东莞市"
CITY_NAME_EN = "Dongguan"


def has_units(session: Session) -> bool:
    """Whether the store holds any grid yet (``make run`` builds the sample city if not)."""
    return bool(session.scalar(select(func.count()).select_from(Unit).where(Unit.level == "grid")))


def load_sample_city(
    session: Session,
    city_dir: Path,
    taxonomy_path: Path,
    step: Callable[[str], None] = lambda _: None,
) -> list[ImportReport]:
    """Import towns, communities, grids, the taxonomy, people and rosters; one transaction."""
    gpkg = city_dir / "city.gpkg"
    ensure_city(session, CITY_CODE, CITY_NAME, CITY_NAME_EN)
    reports = []
    step("towns")
    reports.append(
        import_units(
            session,
            gpkg,
            level="town",
            layer="towns",
            parent_code=CITY_CODE,
            fields=FieldMap(parent=None),
        )
    )
    for level, layer in (("community", "communities"), ("grid", "grids")):
        step(layer)
        reports.append(import_units(session, gpkg, level=level, layer=layer))
    step("taxonomy")
    load_taxonomy(session, taxonomy_path)
    step("people")
    import_people(session, city_dir / "people.csv")
    step("rosters")
    import_rosters(session, city_dir / "rosters.csv")
    return reports


def load_sample_patrols(session: Session, locator: GridLocator, city_dir: Path) -> tuple[int, int]:
    """The sample city's patrol points, and two synthetic patrol teams of six per town."""
    points = import_points(session, locator, city_dir / "city.gpkg", layer="patrol_points")
    towns = [u for u in locator.directory.units.values() if u.level == "town"]
    teams = 0
    for town in sorted(towns, key=lambda u: u.code):
        for n, label in ((1, "义警队"), (2, "社区巡逻队")):
            team = save_team(session, f"{town.code}-T{n}", f"{town.name}{label}", town.code)
            for m in range(1, 7):
                save_member(session, team, f"{team.code}-M{m}", f"{label[:2]}队员{m}")
            teams += 1
    return points, teams
