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

from geo.aggregate import complete_field
from geo.emerging import cube_of_counts, emerging_from_cube
from geo.hotspots import hotspot_table
from grids.analytics.area import MAX_FIELD_CELLS, GridParents, area_cells, grid_parents, study_area
from grids.analytics.cases import (
    EXCLUDED_REJECT_REASONS,
    case_points,
    case_unit_conditions,
    has_cases,
)
from grids.analytics.counts import Counter, ReportCounts, StoreCounter
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


def _meta(selection: Selection, counted: ReportCounts, **parameters: Any) -> dict[str, Any]:
    return {
        "source": counted.source,
        "reports": counted.reports,
        "excluded_cases": counted.excluded,
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
    counter: Counter | None = None,
) -> Analysis:
    """Getis-Ord Gi* on the complete field of the selection's unit (every cell, zeros
    included): one row per cell with ``cell, count, gi_z, gi_p, gi_p_fdr, gi_bin, class``
    (and ``gi_p_sim`` with permutation inference). Refused below the minimum number of
    cells with reports (:func:`grids.analytics.minimums.check_hotspot_field`).

    ``counter`` counts the reports (default: the store's cases, in memory); the study
    area always comes from the store's grids."""
    check_parameters(res=res, k=k, kernel=kernel)
    inference = inference or Inference()
    unit = selection.check(locator.directory)
    counted = (counter or StoreCounter(session))(selection, unit, res=res, tz=str(locator.tz))
    cells, values = complete_field(area_cells(locator, unit, res), counted.cells, counted.counts)
    meta = _meta(selection, counted, res=res, k=k, kernel=kernel, fdr=fdr)
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
    counter: Counter | None = None,
) -> Analysis:
    """ArcGIS-style emerging hot-spot patterns of every cell of the unit's field, over
    day, ISO-week or month bins in the city's time zone (``counter`` as for
    :func:`hotspots`)."""
    check_parameters(res=res, k=k, freq=freq)
    unit = selection.check(locator.directory)
    tz = str(locator.tz)
    counted = (counter or StoreCounter(session))(selection, unit, res=res, freq=FREQS[freq], tz=tz)
    area = area_cells(locator, unit, res)
    start = selection.since
    end = selection.last_instant
    if (counted.first is None or counted.last is None) and (start is None or end is None):
        raise InvalidInput(
            "no reports match; give since and until to analyse an empty period, or widen it"
        )
    first = start or counted.first
    last = end or counted.last
    assert first is not None and last is not None  # (refused above)
    bins = {"day": 1, "week": 7, "month": 30}[freq]
    n_bins = (pd.Timestamp(last) - pd.Timestamp(first)).days // bins + 2
    if len(area) * n_bins > MAX_CUBE_BINS:
        raise InvalidInput(
            f"{len(area):,} cells × {n_bins} {freq}s is too large a space-time cube; "
            "choose a coarser res or freq, a shorter period or a smaller unit"
        )
    assert counted.bins is not None  # counted with a freq
    cube = cube_of_counts(
        counted.cells,
        counted.bins,
        counted.counts,
        freq=FREQS[freq],
        area_cells=area,
        k=k,
        start=start,
        end=end,
        tz=tz,
    )
    table = emerging_from_cube(cube, k=k)
    meta = _meta(selection, counted, res=res, k=k, freq=freq, cells=len(table))
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
    "Counter",
    "GridParents",
    "Inference",
    "ReportCounts",
    "ReportPoints",
    "Selection",
    "StoreCounter",
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
