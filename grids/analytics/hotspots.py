"""Hot spots and emerging hot spots of a city's reports: which reports, which area, which time.

``geo`` computes; this module decides what it computes on, the same way for
the API, the CLI and the maps:

- **Which reports.** The store's cases, the one source of truth (the sample
  city's year is cases in the store like any other). Cases rejected as
  invalid or as duplicates are left out (and counted): they are not
  problems on the ground, and a duplicate would count one problem twice.
- **Which area.** The study area of a unit is the union of its grids (of
  every grid for the city); the complete field is every cell whose centre
  lies in it, zeros included, plus any cell that holds a report.
- **Which time.** ``since`` inclusive, ``until`` exclusive; a bare date is
  local midnight in the city's time zone. Cases are placed in time by when
  they were reported.

Coarse cells are derived from each report's fine H3 cell (resolution 12) by
bit operations, so nothing here needs a spatial SQL function and both store
backends give the same answers.

This module runs the analyses and re-exports their pieces, which live beside
it: ``grids.analytics.selection`` (the selection and the parameters),
``grids.analytics.cases`` (the cases as report points),
``grids.analytics.area`` (study areas and their cells, cached per grid locator) and
``grids.analytics.layers`` (what the maps draw around
the hexagons: outlines with who is on duty, case markers, patrol points).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from geo.aggregate import complete_field, counts_per_cell
from geo.emerging import emerging_hotspots
from geo.hotspots import hotspot_table
from grids.analytics.area import MAX_FIELD_CELLS, GridParents, area_cells, grid_parents, study_area
from grids.analytics.cases import (
    EXCLUDED_REJECT_REASONS,
    case_points,
    case_unit_conditions,
    has_cases,
)
from grids.analytics.layers import (
    DUTY_KINDS,
    case_markers,
    duty_label,
    grid_outlines,
    patrol_points,
    town_outlines,
)
from grids.analytics.minimums import Inference, TooLittleData, check_hotspot_field, check_time_steps
from grids.analytics.selection import (
    FREQS,
    K_RANGE,
    RES_RANGE,
    SOURCE_CASES,
    ReportPoints,
    Selection,
    check_parameters,
    in_scope,
    parse_instant,
    resolve_unit,
    scoped_selection,
)
from grids.city.locator import GridLocator
from grids.errors import InvalidInput

#: Refuse space-time cubes larger than this many cell-bins.
MAX_CUBE_BINS = 30_000_000


def load_points(session: Session, locator: GridLocator, selection: Selection) -> ReportPoints:
    """The cases a hot-spot analysis of ``selection`` runs on (see the module docstring)."""
    return case_points(session, selection, selection.check(locator.directory))


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
        **selection.describe(),
        **parameters,
    }


def hotspots(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    res: int = 9,
    k: int = 1,
    kernel: str = "uniform",
    fdr: bool = True,
    inference: Inference | None = None,
) -> Analysis:
    """Getis-Ord Gi* on the complete field of the selection's unit (every cell, zeros
    included): one row per cell with ``cell, count, gi_z, gi_p, gi_p_fdr, gi_bin, class``
    (and ``gi_p_sim`` with permutation inference). Refused below the minimum number of
    cells with reports (:func:`grids.analytics.minimums.check_hotspot_field`)."""
    check_parameters(res=res, k=k, kernel=kernel)
    inference = inference or Inference()
    unit = selection.check(locator.directory)
    points = load_points(session, locator, selection)
    held, counts = counts_per_cell(points.cells, res)
    cells, values = complete_field(area_cells(locator, unit, res), held, counts)
    meta = _meta(selection, points, res=res, k=k, kernel=kernel, fdr=fdr)
    with_reports = check_hotspot_field(values, meta | inference.describe())
    table = hotspot_table(
        cells,
        values,
        k=k,
        kernel=kernel,
        fdr=fdr,
        permutations=inference.draws,
        seed=inference.seed,
    )
    extra = {"cells": len(table), "cells_with_reports": with_reports}
    return Analysis(table, meta | inference.describe() | extra)


def emerging(
    session: Session,
    locator: GridLocator,
    selection: Selection,
    *,
    res: int = 8,
    freq: str = "week",
    k: int = 1,
) -> Analysis:
    """ArcGIS-style emerging hot-spot patterns of every cell of the unit's field, over
    day, ISO-week or month bins in the city's time zone."""
    check_parameters(res=res, k=k, freq=freq)
    unit = selection.check(locator.directory)
    points = load_points(session, locator, selection)
    area = area_cells(locator, unit, res)
    tz = str(locator.tz)
    start = selection.since
    end = selection.last_instant
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
    meta = _meta(selection, points, res=res, k=k, freq=freq, cells=len(table))
    steps = check_time_steps(int(table["n_bins"].max()) if len(table) else 0, freq, meta)
    return Analysis(table, meta | {"time_steps": steps})


#: The analyses by name, as the API, the maps and the CLI ask for them.
ANALYSES: dict[str, Callable[..., Analysis]] = {"hotspots": hotspots, "emerging": emerging}

__all__ = [
    "ANALYSES",
    "DUTY_KINDS",
    "EXCLUDED_REJECT_REASONS",
    "FREQS",
    "K_RANGE",
    "MAX_CUBE_BINS",
    "MAX_FIELD_CELLS",
    "RES_RANGE",
    "SOURCE_CASES",
    "Analysis",
    "GridParents",
    "Inference",
    "ReportPoints",
    "Selection",
    "TooLittleData",
    "area_cells",
    "case_markers",
    "case_points",
    "case_unit_conditions",
    "check_hotspot_field",
    "check_parameters",
    "check_time_steps",
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
    "scoped_selection",
    "study_area",
    "town_outlines",
]
