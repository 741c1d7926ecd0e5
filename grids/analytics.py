"""Hot spots and emerging hot spots of a city's reports: which reports, which area, which time.

``geo`` computes; this module decides what it computes on, the same way for
the API, the CLI and the maps:

- **Which reports.** The store's cases when there are any in the time window
  (``source="cases"``); otherwise the sample city's synthetic reports
  (``source="sample_reports"``, ``<samples_dir>/generated/reports.parquet``),
  so that a new service has maps on its first day. Either can be asked for
  explicitly, and every result says which one it used. Cases rejected as
  invalid or as duplicates are left out (and counted): they are not
  problems on the ground, and a duplicate would count one problem twice.
- **Which area.** The study area of a unit is the union of its grids (of
  every grid for the city); the complete field is every cell whose centre
  lies in it, zeros included, plus any cell that holds a report.
- **Which time.** ``since`` inclusive, ``until`` exclusive; a bare date is
  local midnight in the city's time zone. Cases are placed in time by when
  they were reported, the sample reports by when they occurred.

Coarse cells are derived from each report's fine H3 cell (resolution 12) by
bit operations, so nothing here needs a spatial SQL function and both store
backends give the same answers.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session

from geo.aggregate import as_datetime64, complete_field, counts_per_cell, study_area_cells
from geo.emerging import Freq, emerging_hotspots
from geo.h3cells import latlng_to_cells
from geo.hotspots import KERNELS, hotspot_table
from grids.case_models import Case
from grids.cases import CASE_H3_RES
from grids.directory import Directory, UnitInfo
from grids.dispatch import category_of, decide
from grids.errors import InvalidInput, NotFound, NotReady
from grids.locator import GridLocator
from grids.models import Category, Unit
from grids.patrol_models import PatrolPoint

SOURCES = ("auto", "cases", "samples")
SOURCE_CASES = "cases"
SOURCE_SAMPLES = "sample_reports"
RES_RANGE = (4, 12)
K_RANGE = (1, 3)
FREQS: dict[str, Freq] = {"day": "D", "week": "W", "month": "M"}
#: Refuse fields larger than this many cells (the whole city at res 11 is ~1.2 million).
MAX_FIELD_CELLS = 400_000
#: And space-time cubes larger than this many cell-bins.
MAX_CUBE_BINS = 30_000_000
EXCLUDED_REJECT_REASONS = ("invalid", "duplicate")
SAMPLE_REPORTS = Path("generated") / "reports.parquet"

DUTY_KINDS: dict[str, dict[str, str]] = {
    "zh": {
        "grid_chief": "网格长",
        "community": "社区工作站",
        "town_dispatch": "镇街调度中心",
        "city_dispatch": "市调度中心",
    },
    "en": {
        "grid_chief": "grid chief",
        "community": "community workstation",
        "town_dispatch": "town dispatch centre",
        "city_dispatch": "city dispatch centre",
    },
}


# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------


def parse_instant(text: str | None, tz: str, *, name: str = "time") -> dt.datetime | None:
    """``YYYY-MM-DD`` (local midnight) or an ISO 8601 time (naive = local) as aware UTC."""
    if text is None or text == "":
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{name} {text!r} is not a date or time; use YYYY-MM-DD or an ISO 8601 time "
            "such as 2026-11-16T08:00 (local time) or 2026-11-16T00:00Z"
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(dt.UTC)


def check_parameters(
    *, res: int, k: int = 1, kernel: str = "uniform", freq: str | None = None
) -> None:
    """Refuse parameters outside what the analysis supports, saying what is allowed."""
    lo, hi = RES_RANGE
    if not lo <= res <= hi:
        raise InvalidInput(
            f"res must be an H3 resolution from {lo} to {hi} (reports keep their cell at "
            f"{CASE_H3_RES}; 8 is about 0.7 km², 9 about 0.1 km²), got {res}"
        )
    if not K_RANGE[0] <= k <= K_RANGE[1]:
        raise InvalidInput(f"k (the k-ring size) must be 1, 2 or 3, got {k}")
    if kernel not in KERNELS:
        raise InvalidInput(f"unknown kernel {kernel!r}; use one of {', '.join(KERNELS)}")
    if freq is not None and freq not in FREQS:
        raise InvalidInput(f"freq must be one of {', '.join(FREQS)}, got {freq!r}")


@dataclass(frozen=True)
class Selection:
    """Which reports: a time window, a category, a unit (code; None is the city), a source."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    category: str | None = None
    unit: str | None = None
    source: str = "auto"

    def check(self, directory: Directory) -> UnitInfo | None:
        """Validate against the directory; returns the unit (None for the whole city)."""
        if self.source not in SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.since and self.until and self.until <= self.since:
            raise InvalidInput("until must lie after since")
        category_of(directory, self.category)  # refuses unknown codes, listing the valid ones
        return resolve_unit(directory, self.unit)


def resolve_unit(directory: Directory, code: str | None) -> UnitInfo | None:
    """The unit with this code; None (the whole city) for no code or the city's own."""
    if code is None or code == "":
        return None
    unit = directory.units_by_code.get(code)
    if unit is None:
        raise NotFound(f"no unit with code {code!r}; see /api/v1/grids?level=town for codes")
    return None if unit.level == "city" else unit


# --------------------------------------------------------------------------
# per-locator caches (a locator is rebuilt when the store's grids change)
# --------------------------------------------------------------------------

_T = TypeVar("_T")
_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[GridLocator, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _cached(locator: GridLocator, key: Any, build: Callable[[], _T]) -> _T:
    """A value computed once per locator (small: a few per unit and resolution)."""
    with _lock:
        cache = _caches.setdefault(locator, {})
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
    value = build()
    with _lock:
        cache = _caches.setdefault(locator, {})
        if len(cache) > 64:
            cache.clear()
        cache[key] = value
    return value


@dataclass(frozen=True)
class GridParents:
    """For each grid of the locator (in its order): its own, community and town unit ids."""

    grid: NDArray[np.int64]
    community: NDArray[np.int64]
    town: NDArray[np.int64]

    def mask(self, unit: UnitInfo | None) -> NDArray[np.bool_]:
        """Which grids lie in ``unit`` (all for the city)."""
        if unit is None:
            return np.ones(len(self.grid), dtype=bool)
        column = {"grid": self.grid, "community": self.community, "town": self.town}.get(unit.level)
        if column is None:
            return np.ones(len(self.grid), dtype=bool)
        return np.asarray(column == unit.id)


def grid_parents(locator: GridLocator) -> GridParents:
    """The hierarchy above each grid, as arrays aligned with the locator's grids."""

    def build() -> GridParents:
        directory = locator.directory
        ids = np.asarray(locator.unit_ids, dtype=np.int64)

        def above(level: str) -> NDArray[np.int64]:
            return np.asarray(
                [(u.id if (u := directory.ancestor(int(i), level)) else -1) for i in ids],
                dtype=np.int64,
            )

        return GridParents(ids, above("community"), above("town"))

    return _cached(locator, "parents", build)


def study_area(locator: GridLocator, unit: UnitInfo | None) -> shapely.Geometry:
    """The union of the unit's grids, as one MultiPolygon of their parts (no dissolve:
    a cell's centre lies in the union exactly when it lies in one of the parts)."""
    polygons = np.asarray(locator.cellmap.polygons, dtype=object)[grid_parents(locator).mask(unit)]
    return shapely.MultiPolygon(list(shapely.get_parts(polygons)))


def area_cells(locator: GridLocator, unit: UnitInfo | None, res: int) -> NDArray[np.uint64]:
    """Every cell at ``res`` whose centre lies in the unit's grids (cached)."""

    def build() -> NDArray[np.uint64]:
        area = study_area(locator, unit)
        _check_field_size(area, res)
        return study_area_cells(area, res)

    return _cached(locator, ("area", unit.id if unit else None, res), build)


def _check_field_size(area: shapely.Geometry, res: int) -> None:
    """Refuse before filling: a city at a fine resolution is millions of cells."""
    if shapely.is_empty(area):
        return
    lat = shapely.centroid(area).y
    km2 = shapely.area(area) * 111.32**2 * np.cos(np.radians(lat))
    estimate = km2 / h3.average_hexagon_area(res, unit="km^2")
    if estimate > MAX_FIELD_CELLS:
        raise InvalidInput(
            f"res {res} over this area is about {estimate:,.0f} cells (limit "
            f"{MAX_FIELD_CELLS:,}); choose a coarser res or a smaller unit"
        )


# --------------------------------------------------------------------------
# report points
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPoints:
    """Reports ready for ``geo``: fine cell, UTC time (naive ns) and category of each.

    ``source`` is ``"cases"`` or ``"sample_reports"``; ``excluded`` counts the
    cases left out as rejected invalid or duplicate.
    """

    source: str
    cells: NDArray[np.uint64]
    times: NDArray[np.datetime64]
    categories: NDArray[np.object_]
    excluded: int = 0

    def __len__(self) -> int:
        return len(self.cells)


def _window(column: Any, selection: Selection) -> list[ColumnElement[bool]]:
    conditions = []
    if selection.since is not None:
        conditions.append(column >= selection.since)
    if selection.until is not None:
        conditions.append(column < selection.until)
    return conditions


def case_unit_conditions(unit: UnitInfo | None) -> list[ColumnElement[bool]]:
    """Conditions on the cases of a unit (none for the city)."""
    if unit is None:
        return []
    column = {"grid": Case.grid_id, "community": Case.community_id, "town": Case.town_id}
    return [column[unit.level] == unit.id]


def has_cases(session: Session, selection: Selection) -> bool:
    """Whether the store holds any case reported in the selection's time window."""
    query = select(Case.id).where(*_window(Case.reported_at, selection)).limit(1)
    return session.scalar(query) is not None


def _counted_cases() -> ColumnElement[bool]:
    """Cases that count as reports of a problem: not rejected as invalid or duplicate."""
    return and_(
        not_(and_(Case.status == "rejected", Case.reject_reason.in_(EXCLUDED_REJECT_REASONS))),
        Case.duplicate_of_id.is_(None),
    )


def case_points(session: Session, selection: Selection, unit: UnitInfo | None) -> ReportPoints:
    """The store's cases as report points (one query, no per-row Python work)."""
    conditions = [*_window(Case.reported_at, selection), *case_unit_conditions(unit)]
    if selection.category is not None:
        conditions.append(Category.code == selection.category)
    base = select(Case.h3_cell, Case.reported_at, Category.code).join(
        Category, Category.id == Case.category_id
    )
    rows = session.execute(base.where(*conditions, _counted_cases())).all()
    excluded = session.scalar(
        select(func.count())
        .select_from(Case)
        .join(Category, Category.id == Case.category_id)
        .where(*conditions, not_(_counted_cases()))
    )
    frame = pd.DataFrame(rows, columns=["cell", "at", "category"])
    return ReportPoints(
        SOURCE_CASES,
        frame["cell"].to_numpy(dtype=np.int64).astype(np.uint64),
        as_datetime64(pd.to_datetime(frame["at"], utc=True)) if len(frame) else _no_times(),
        frame["category"].to_numpy(dtype=object),
        int(excluded or 0),
    )


def _no_times() -> NDArray[np.datetime64]:
    return np.empty(0, dtype="datetime64[ns]")


@dataclass
class _SampleReports:
    """The sample reports with their fine cells, located in the store's grids once."""

    stamp: tuple[int, int]
    cells: NDArray[np.uint64]
    times: NDArray[np.datetime64]
    categories: NDArray[np.object_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    located: tuple[weakref.ref[GridLocator], NDArray[np.int64]] | None = None


_samples: dict[Path, _SampleReports] = {}


def sample_reports_path(samples_dir: Path) -> Path:
    return Path(samples_dir) / SAMPLE_REPORTS


def _load_samples(samples_dir: Path) -> _SampleReports:
    path = sample_reports_path(samples_dir)
    if not path.exists():
        raise NotReady(
            f"the store has no cases in this time window and there are no sample reports at "
            f"{path}; run `gridwatch samples build`, or ask for source=cases"
        )
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _samples.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
    frame = pd.read_parquet(path, columns=["occurred_at", "lat", "lon", "category"])
    lat = frame["lat"].to_numpy(dtype=np.float64)
    lon = frame["lon"].to_numpy(dtype=np.float64)
    loaded = _SampleReports(
        stamp,
        latlng_to_cells(lat, lon, CASE_H3_RES),
        as_datetime64(frame["occurred_at"]),
        frame["category"].to_numpy(dtype=object),
        lat,
        lon,
    )
    with _lock:
        _samples[path] = loaded
    return loaded


def sample_points(
    samples_dir: Path, locator: GridLocator, selection: Selection, unit: UnitInfo | None
) -> ReportPoints:
    """The sample city's synthetic reports as report points, filtered like cases."""
    reports = _load_samples(samples_dir)
    keep = np.ones(len(reports.cells), dtype=bool)
    if selection.since is not None:
        keep &= reports.times >= np.datetime64(selection.since.replace(tzinfo=None), "ns")
    if selection.until is not None:
        keep &= reports.times < np.datetime64(selection.until.replace(tzinfo=None), "ns")
    if selection.category is not None:
        keep &= reports.categories == selection.category
    if unit is not None:
        index = _sample_grid_index(reports, locator)
        inside = np.zeros(len(index), dtype=bool)
        located = index >= 0
        inside[located] = grid_parents(locator).mask(unit)[index[located]]
        keep &= inside
    return ReportPoints(
        SOURCE_SAMPLES, reports.cells[keep], reports.times[keep], reports.categories[keep]
    )


def _sample_grid_index(reports: _SampleReports, locator: GridLocator) -> NDArray[np.int64]:
    """The grid (index into the locator's grids, -1 outside) of each sample report,
    located once per locator (the current grids)."""
    with _lock:
        located = reports.located
    if located is not None and located[0]() is locator:
        return located[1]
    index = np.asarray(locator.locate_many(reports.lat, reports.lon).index, dtype=np.int64)
    with _lock:
        reports.located = (weakref.ref(locator), index)
    return index


def load_points(
    session: Session, locator: GridLocator, selection: Selection, samples_dir: Path
) -> ReportPoints:
    """The reports a hot-spot analysis of ``selection`` runs on (see the module docstring)."""
    unit = selection.check(locator.directory)
    source = selection.source
    if source == "auto":
        source = "cases" if has_cases(session, selection) else "samples"
    if source == "cases":
        return case_points(session, selection, unit)
    return sample_points(samples_dir, locator, selection, unit)


# --------------------------------------------------------------------------
# the analyses
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """A table from ``geo`` and what it was computed on (shown in every response)."""

    table: pd.DataFrame
    meta: dict[str, Any]


def _meta(selection: Selection, points: ReportPoints, **parameters: Any) -> dict[str, Any]:
    return {
        "source": points.source,
        "reports": len(points),
        "excluded_cases": points.excluded,
        "since": selection.since.isoformat() if selection.since else None,
        "until": selection.until.isoformat() if selection.until else None,
        "category": selection.category,
        "unit": selection.unit,
        **parameters,
    }


def hotspots(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    samples_dir: Path,
    res: int = 9,
    k: int = 1,
    kernel: str = "uniform",
    fdr: bool = True,
) -> Analysis:
    """Getis-Ord Gi* on the complete field of the selection's unit (every cell, zeros
    included): one row per cell with ``cell, count, gi_z, gi_p, gi_p_fdr, gi_bin, class``."""
    check_parameters(res=res, k=k, kernel=kernel)
    unit = selection.check(locator.directory)
    points = load_points(session, locator, selection, samples_dir)
    held, counts = counts_per_cell(points.cells, res)
    cells, values = complete_field(area_cells(locator, unit, res), held, counts)
    table = hotspot_table(cells, values, k=k, kernel=kernel, fdr=fdr)
    return Analysis(
        table,
        _meta(selection, points, res=res, k=k, kernel=kernel, fdr=fdr, cells=len(table)),
    )


def emerging(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    samples_dir: Path,
    res: int = 8,
    freq: str = "week",
    k: int = 1,
) -> Analysis:
    """ArcGIS-style emerging hot-spot patterns of every cell of the unit's field, over
    day, ISO-week or month bins in the city's time zone."""
    check_parameters(res=res, k=k, freq=freq)
    unit = selection.check(locator.directory)
    points = load_points(session, locator, selection, samples_dir)
    area = area_cells(locator, unit, res)
    tz = str(locator.tz)
    start = selection.since
    end = selection.until - dt.timedelta(microseconds=1) if selection.until else None
    if len(points) == 0 and (start is None or end is None):
        raise InvalidInput(
            "no reports match; give since and until to analyse an empty period, or widen it"
        )
    first = start or pd.Timestamp(points.times.min(), tz="UTC")
    last = end or pd.Timestamp(points.times.max(), tz="UTC")
    bins = {"day": 1, "week": 7, "month": 30}[freq]
    n_bins = (pd.Timestamp(last) - pd.Timestamp(first)).days // bins + 2
    if len(area) * n_bins > MAX_CUBE_BINS:
        raise InvalidInput(
            f"{len(area):,} cells × {n_bins} {freq}s is too large a space-time cube; "
            "choose a coarser res or freq, a shorter period or a smaller unit"
        )
    table = emerging_hotspots(
        points.cells,
        points.times,
        res=res,
        freq=FREQS[freq],
        k=k,
        area_cells=area,
        start=start,
        end=end,
        tz=tz,
    )
    return Analysis(table, _meta(selection, points, res=res, k=k, freq=freq, cells=len(table)))


# --------------------------------------------------------------------------
# what the maps draw around the hexagons
# --------------------------------------------------------------------------


def duty_label(directory: Directory, grid_id: int, local: dt.datetime, lang: str = "zh") -> str:
    """Who takes a report from this grid now: the officer on duty, or the fallback."""
    decision = decide(directory, grid_id, "inside", None, local, None)
    if decision.assignee_kind == "officer" and decision.officer is not None:
        return f"{decision.officer.name} ({decision.officer.code})"
    kind = DUTY_KINDS[lang].get(decision.assignee_kind, decision.assignee_kind)
    if decision.officer is not None:
        return f"{kind} {decision.officer.name} ({decision.officer.code})"
    unit = decision.assignee_unit
    return f"{kind} {unit.name}" if unit is not None else kind


def _town_duty(directory: Directory, town_id: int, local: dt.datetime) -> str:
    """The town's dispatchers on duty now (by their roster), or every dispatcher of the town."""
    on_duty = [
        directory.people[shift.person_id]
        for shift in directory.shifts.get(town_id, [])
        if shift.started_at(local) is not None
    ]
    people = on_duty or directory.people_with_role(town_id, "dispatcher")
    return "、".join(f"{p.name} ({p.code})" for p in people)


def grid_outlines(
    locator: GridLocator, unit: UnitInfo | None, *, at: dt.datetime | None = None, lang: str = "zh"
) -> gpd.GeoDataFrame:
    """The unit's grids (code, name, duty, geometry in WGS-84) with who is on duty at ``at``."""
    mask = grid_parents(locator).mask(unit)
    local = locator.local_time(at)
    ids = np.asarray(locator.unit_ids)[mask]
    directory = locator.directory
    return gpd.GeoDataFrame(
        {
            "code": [directory.units[int(i)].code for i in ids],
            "name": [directory.units[int(i)].name for i in ids],
            "duty": [duty_label(directory, int(i), local, lang) for i in ids],
        },
        geometry=np.asarray(locator.cellmap.polygons, dtype=object)[mask],
        crs=4326,
    )


def town_outlines(
    session: Session, locator: GridLocator, unit: UnitInfo | None, *, at: dt.datetime | None = None
) -> gpd.GeoDataFrame:
    """The towns of the unit (all for the city; the enclosing town otherwise), with the
    town's dispatchers on duty."""
    directory = locator.directory
    query = select(Unit.id, Unit.code, Unit.name, Unit.geom).where(Unit.level == "town")
    if unit is not None:
        town = directory.ancestor(unit.id, "town")
        query = query.where(Unit.id == (town.id if town else -1))
    rows = [r for r in session.execute(query.order_by(Unit.code)) if r.geom is not None]
    local = locator.local_time(at)
    return gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "duty": [_town_duty(directory, r.id, local) for r in rows],
        },
        geometry=[r.geom for r in rows],
        crs=4326,
    )


def case_markers(
    session: Session, locator: GridLocator, selection: Selection, *, limit: int = 5000
) -> pd.DataFrame:
    """The most recent cases of the selection (every state) for the map's markers:
    id, lat, lon, status, category, reported (local time)."""
    unit = selection.check(locator.directory)
    conditions = [*_window(Case.reported_at, selection), *case_unit_conditions(unit)]
    if selection.category is not None:
        conditions.append(Category.code == selection.category)
    rows = session.execute(
        select(Case.id, Case.lat, Case.lon, Case.status, Category.name, Case.reported_at)
        .join(Category, Category.id == Case.category_id)
        .where(*conditions)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(limit)
    ).all()
    return pd.DataFrame(
        [
            (
                r.id,
                r.lat,
                r.lon,
                r.status,
                r.name,
                f"{locator.local_time(r.reported_at):%Y-%m-%d %H:%M}",
            )
            for r in rows
        ],
        columns=["id", "lat", "lon", "status", "category", "reported"],
    )


def patrol_points(
    session: Session, locator: GridLocator, unit: UnitInfo | None
) -> gpd.GeoDataFrame:
    """The store's patrol points in the unit's grids (code, name, kind, geometry)."""
    query = select(
        PatrolPoint.code,
        PatrolPoint.name,
        PatrolPoint.kind,
        PatrolPoint.lat,
        PatrolPoint.lon,
        PatrolPoint.grid_id,
    )
    rows = session.execute(query.order_by(PatrolPoint.code)).all()
    frame = pd.DataFrame(rows, columns=["code", "name", "kind", "lat", "lon", "grid_id"])
    if unit is not None:
        parents = grid_parents(locator)
        frame = frame[frame["grid_id"].isin(parents.grid[parents.mask(unit)])]
    return gpd.GeoDataFrame(
        frame[["code", "name", "kind"]],
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs=4326,
    )


def in_scope(directory: Directory, unit: UnitInfo | None, unit_ids: frozenset[int] | None) -> bool:
    """Whether a unit (None: the city) lies within a scope of unit ids (None: everywhere)."""
    if unit_ids is None:
        return True
    if unit is None:
        return False
    return any(u.id in unit_ids for u in directory.path(unit.id))


def scoped_selection(selection: Selection, default_unit: str | None) -> Selection:
    """The selection with the caller's own unit when they named none."""
    if selection.unit or default_unit is None:
        return selection
    return Selection(
        selection.since, selection.until, selection.category, default_unit, selection.source
    )


__all__ = [
    "EXCLUDED_REJECT_REASONS",
    "FREQS",
    "K_RANGE",
    "RES_RANGE",
    "SOURCES",
    "SOURCE_CASES",
    "SOURCE_SAMPLES",
    "Analysis",
    "GridParents",
    "ReportPoints",
    "Selection",
    "area_cells",
    "case_markers",
    "case_points",
    "case_unit_conditions",
    "check_parameters",
    "duty_label",
    "emerging",
    "grid_outlines",
    "grid_parents",
    "has_cases",
    "hotspots",
    "in_scope",
    "load_points",
    "parse_instant",
    "patrol_points",
    "resolve_unit",
    "sample_points",
    "sample_reports_path",
    "scoped_selection",
    "study_area",
    "town_outlines",
]
