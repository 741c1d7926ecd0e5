"""The administrative hierarchy: importing units from files, with a validation report.

An import is one transaction: it either writes every feature of the file
(new codes inserted, known codes updated) or, on any refusal, nothing.
The report lists what a person should look at before going live: repaired
geometries, siblings that overlap, gaps inside a parent that no child
covers, and children that stick out of their parent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from geo import polygons as geo_polygons
from grids.city.models import LEVELS, StoreRevision, Unit
from grids.errors import ImportRefused, NotFound


@dataclass(frozen=True)
class FieldMap:
    """Which attribute of the file holds what. ``None`` means "not in the file"."""

    code: str | None = "code"
    name: str = "name"
    name_en: str | None = "name_en"
    parent: str | None = "parent_code"


@dataclass
class ImportReport:
    """What an import did and what it found; written as JSON next to the import."""

    source: str
    level: str
    created: int = 0
    updated: int = 0
    repaired: list[dict[str, Any]] = field(default_factory=list)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    outside_parent: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2))

    def summary(self) -> list[str]:
        """One line per finding kind, for the CLI."""
        gap_area = sum(g["area_m2"] for g in self.gaps)
        out_area = sum(o["area_m2"] for o in self.outside_parent)
        overlap_area = sum(o["area_m2"] for o in self.overlaps)
        return [
            f"{self.level}: {self.created} created, {self.updated} updated from {self.source}",
            f"repaired geometries: {len(self.repaired)}",
            f"overlapping siblings: {len(self.overlaps)} pairs, {overlap_area:,.0f} m² in all",
            f"gaps inside parents: {len(self.gaps)}, {gap_area:,.0f} m² in all",
            f"outside their parent: {len(self.outside_parent)}, {out_area:,.0f} m² in all",
        ]


def ensure_city(session: Session, code: str, name: str, name_en: str | None = None) -> Unit:
    """The root unit of the hierarchy, created on first use."""
    city = session.scalar(select(Unit).where(Unit.code == code))
    if city is None:
        city = Unit(code=code, name=name, name_en=name_en, level="city")
        session.add(city)
        session.flush()
    elif city.level != "city":
        raise ImportRefused(f"unit {code} exists at level {city.level}, not city")
    return city


def import_units(
    session: Session,
    path: str | Path,
    *,
    level: str,
    fields: FieldMap | None = None,
    parent_code: str | None = None,
    layer: str | None = None,
    crs: str = "wgs84",
    source_epsg: int | None = None,
    tolerance_m2: float = 1.0,
) -> ImportReport:
    """Import the features of a polygon file as units of one level; see the module docstring.

    Parents come from the ``fields.parent`` attribute of each feature, else
    from ``parent_code`` for all of them; a town may omit both when there is
    exactly one city.
    """
    fields = fields or FieldMap()
    if level not in LEVELS or level == "city":
        raise ImportRefused(f"level must be one of town, community, grid; got {level!r}")
    frame = geo_polygons.read_polygon_file(
        path, layer=layer, crs=crs, source_epsg=source_epsg, id_field=fields.code
    )
    columns = [c for c in frame.columns if c != frame.geometry.name]
    codes = _codes(frame, fields, columns, path)
    names = _required_column(frame, fields.name, columns, path, "name").astype(str)
    names_en = (
        frame[fields.name_en].where(frame[fields.name_en].notna(), None)
        if fields.name_en and fields.name_en in frame.columns
        else pd.Series([None] * len(frame))
    )
    geoms, repairs = geo_polygons.normalise_polygons(frame.geometry.values, codes)
    parents = _parents(session, frame, fields, parent_code, level, path)

    report = ImportReport(source=str(path), level=level)
    report.repaired = [
        {
            "code": codes[r.row],
            "reason": r.reason,
            "area_before_m2": round(r.area_before_m2, 1),
            "area_after_m2": round(r.area_after_m2, 1),
        }
        for r in repairs
    ]
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    touched: list[Unit] = []
    for i, code in enumerate(codes):
        unit = existing.get(code)
        if unit is None:
            unit = Unit(code=code, level=level)
            session.add(unit)
            report.created += 1
        elif unit.level != level:
            raise ImportRefused(
                f"{path}: code {code} already names a {unit.level}, not a {level}; "
                "codes are unique across all levels"
            )
        else:
            report.updated += 1
        geom = geoms[i]
        minx, miny, maxx, maxy = shapely.bounds(geom)
        unit.name = names.iloc[i]
        unit.name_en = names_en.iloc[i]
        unit.parent = parents[i]
        unit.geom = geom
        unit.area_m2 = geo_polygons.geodesic_area(geom)
        unit.min_lon, unit.min_lat, unit.max_lon, unit.max_lat = minx, miny, maxx, maxy
        touched.append(unit)
    session.flush()
    _check_against_family(session, touched, tolerance_m2, report)
    bump_revision(session)
    return report


def bump_revision(session: Session) -> None:
    """Tell running services that units, people or categories changed."""
    session.execute(update(StoreRevision).values(revision=StoreRevision.revision + 1))


def _codes(frame: pd.DataFrame, fields: FieldMap, columns: list[str], path: Any) -> list[str]:
    if fields.code is None:
        raise ImportRefused(f"{path}: no code field given; name the attribute that holds codes")
    codes = _required_column(frame, fields.code, columns, path, "code")
    if codes.isna().any():
        rows = (np.flatnonzero(codes.isna()) + 1).tolist()[:5]
        raise ImportRefused(
            f"{path}: features {rows} have no {fields.code!r}; every unit needs one"
        )
    codes = codes.astype(str).str.strip()
    dupes = codes[codes.duplicated()].unique().tolist()
    if dupes:
        raise ImportRefused(f"{path}: codes appear twice: {dupes[:5]}; codes must be unique")
    return codes.tolist()


def _required_column(
    frame: pd.DataFrame, name: str, columns: list[str], path: Any, what: str
) -> pd.Series:
    if name not in frame.columns:
        raise ImportRefused(
            f"{path}: no attribute {name!r} for the {what}; the file has {columns}. "
            f"Map the {what} to one of them (e.g. --{what.replace('_', '-')}-field)"
        )
    return frame[name]


def _parents(
    session: Session,
    frame: pd.DataFrame,
    fields: FieldMap,
    parent_code: str | None,
    level: str,
    path: Any,
) -> list[Unit]:
    """The parent unit of every feature, checked to sit above ``level``."""
    if fields.parent and fields.parent in frame.columns:
        wanted = frame[fields.parent].astype(str).str.strip().tolist()
    elif parent_code is not None:
        wanted = [parent_code] * len(frame)
    elif level == "town":
        cities = session.scalars(select(Unit).where(Unit.level == "city")).all()
        if len(cities) != 1:
            raise ImportRefused(
                f"{path}: say which city the towns belong to (--parent CODE); "
                f"there are {len(cities)} cities in the store"
            )
        wanted = [cities[0].code] * len(frame)
    else:
        raise ImportRefused(
            f"{path}: no parent for the {level} units: give --parent CODE, "
            f"or an attribute with the parent's code (--parent-field)"
        )
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(set(wanted))))}
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ImportRefused(
            f"{path}: parent codes not in the store: {missing[:5]}"
            f"{' …' if len(missing) > 5 else ''}; import the parents first"
        )
    rank = LEVELS.index(level)
    wrong = sorted({c for c in wanted if LEVELS.index(found[c].level) >= rank})
    if wrong:
        raise ImportRefused(
            f"{path}: parents {wrong[:5]} are not above level {level}; "
            "a parent must be a city, town or community above its children"
        )
    return [found[c] for c in wanted]


def _check_against_family(
    session: Session, touched: list[Unit], tolerance_m2: float, report: ImportReport
) -> None:
    """Overlaps among siblings, gaps inside each parent, children outside their parent."""
    by_parent: dict[int, Unit] = {u.parent.id: u.parent for u in touched if u.parent is not None}
    for parent in by_parent.values():
        siblings = session.scalars(
            select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)
        ).all()
        geoms = np.asarray([s.geom for s in siblings], dtype=object)
        for i, j, area in geo_polygons.sibling_overlaps(geoms, tolerance_m2):
            report.overlaps.append(
                {"a": siblings[i].code, "b": siblings[j].code, "area_m2": round(area, 1)}
            )
        for area, lat, lon in geo_polygons.uncovered_parts(parent.geom, geoms, tolerance_m2):
            report.gaps.append(
                {"parent": parent.code, "area_m2": round(area, 1), "lat": lat, "lon": lon}
            )
    for unit in touched:
        parent_geom = unit.parent.geom if unit.parent is not None else None
        out = geo_polygons.outside_part(unit.geom, parent_geom, tolerance_m2)
        if out:
            report.outside_parent.append(
                {"code": unit.code, "parent": unit.parent.code, "area_m2": round(out, 1)}
                if unit.parent is not None
                else {"code": unit.code, "area_m2": round(out, 1)}
            )


def unit_by_code(session: Session, code: str) -> Unit:
    """A unit by its code, or NotFound naming the code."""
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"no unit with code {code!r}")
    return unit
