"""Hot spots over HTTP: GeoJSON for any client, folium maps for people, a public map.

- ``GET /api/v1/hotspots`` and ``/api/v1/hotspots/emerging``: GeoJSON, one
  feature per cell of the complete field, with the source of the reports.
- ``GET /maps/hotspots`` and ``/maps/emerging``: the staff maps (HTML),
  which work with no internet. A large field is not inlined: the page
  fetches it from ``/maps/data/...``, a URL signed for ten minutes with the
  service's secret, so the fetch needs no token and cannot be altered
  (the caller's unit is part of what is signed).
- ``GET /public/maps/hotspots``: counts only, no token. A cell with fewer
  than ``min_reports`` reports is not in the response at all; no case, no
  marker and no case id ever is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.analytics_deps import (
    GEOJSON,
    HTML,
    AnalyticsSettings,
    AnalyticsSettingsDep,
    Caller,
    CallerDep,
    SelectionParams,
    compressed,
    selection_for,
)
from api.basemap import map_options
from api.deps import LocatorDep, SessionDep, SettingsDep
from api.openapi import media
from geo.aggregate import counts_per_cell
from geo.hotspots import cells_to_strings
from geo.maps import pages as maps
from grids.accounts.users import Forbidden
from grids.analytics import hotspots as analytics
from grids.analytics.minimums import DEFAULT_PERMUTATIONS, Inference
from grids.errors import InvalidInput, NotFound

router = APIRouter(tags=["analytics"])
pages = APIRouter(tags=["maps"])

HOTSPOT_COLUMNS = ["cell", "count", "gi_z", "gi_p", "gi_p_fdr", "gi_bin", "class"]
EMERGING_COLUMNS = [
    "cell",
    "count",
    "pattern",
    "label",
    "trend_z",
    "trend_p",
    "trend_tau",
    "hot_bins",
    "cold_bins",
    "n_bins",
    "final_bin_z",
    "final_bin_p",
]
SIGNED_FOR_S = 600
MAX_GRID_OUTLINES = 1500
PUBLIC_RES = (6, 9)

Res = Annotated[int, Query(description="H3 resolution (8 ≈ 0.7 km², 9 ≈ 0.1 km² a cell)")]
K = Annotated[int, Query(description="k-ring size of the neighbourhood: 1, 2 or 3")]
Kernel = Annotated[str, Query(description="uniform, triangular, quadratic, quartic or gaussian")]
Fdr = Annotated[bool, Query(description="Classes with Benjamini–Hochberg FDR correction")]
Freq = Annotated[str, Query(description="Time bins: day, week (ISO) or month")]
Basemap = Annotated[
    str | None, Query(description="none: no basemap (default: the configured one, if any)")
]
Lang = Annotated[str, Query(description="zh or en")]
Crs = Annotated[str, Query(description="Datum of the output coordinates: wgs84 or gcj02")]
InferenceQ = Annotated[
    str, Query(description="normal (z-score p-values) or permutation (pseudo p-values)")
]
Permutations = Annotated[
    int, Query(description="Conditional permutations for inference=permutation (99–9999)")
]
Seed = Annotated[int | None, Query(description="Seed of the permutations (esda's semantics)")]


# --------------------------------------------------------------------------
# the analyses, as the API and the maps run them
# --------------------------------------------------------------------------


def _run(
    kind: str,
    session: Any,
    locator: Any,
    selection: analytics.Selection,
    settings: Any,
    params: dict[str, Any],
) -> analytics.Analysis:
    """The analysis ``kind`` (hotspots or emerging) with its parameters."""
    run = analytics.ANALYSES[kind]
    return run(session, locator, selection, **params)


def _geojson_response(kind: str, caller: Caller, params: dict[str, Any], crs: str) -> Response:
    """The analysis of the caller's selection, as GeoJSON."""
    analysis = _run(kind, caller.session, caller.locator, caller.chosen(), caller.settings, params)
    return compressed(caller.request, _geojson(kind, analysis, crs), GEOJSON)


def _geojson(kind: str, analysis: analytics.Analysis, crs: str, precision: int = 6) -> str:
    columns = HOTSPOT_COLUMNS if kind == "hotspots" else EMERGING_COLUMNS
    columns = columns + [c for c in ("gi_p_sim",) if c in analysis.table.columns]
    return maps.cells_geojson(
        analysis.table["cell"],
        analysis.table[columns],
        crs=_datum(crs),
        precision=precision,
        meta={**analysis.meta, "crs": _datum(crs)},
    )


def _datum(crs: str) -> str:
    if crs not in ("wgs84", "gcj02"):
        raise InvalidInput(f"crs must be wgs84 or gcj02, got {crs!r}")
    return crs


@router.get("/hotspots", response_class=Response, responses=media(GEOJSON))
def hotspots_geojson(
    caller: CallerDep,
    res: Res = 9,
    k: K = 1,
    kernel: Kernel = "uniform",
    fdr: Fdr = True,
    crs: Crs = "wgs84",
    inference: InferenceQ = "normal",
    permutations: Permutations = DEFAULT_PERMUTATIONS,
    seed: Seed = None,
) -> Response:
    """Getis-Ord Gi* of every cell of the unit's field (zeros included) as GeoJSON:
    ``cell, count, gi_z, gi_p, gi_p_fdr, gi_bin, class`` per feature (and ``gi_p_sim``
    with ``inference=permutation``); the collection says which reports it used
    (``source``: ``cases``, the store's). 422 below 30 cells with reports.

    Example: ``/api/v1/hotspots?res=9&k=1&since=2026-10-01&category=garbage_piled&unit=DG20``
    """
    params = {
        "res": res,
        "k": k,
        "kernel": kernel,
        "fdr": fdr,
        "inference": Inference(inference, permutations, seed),
    }
    return _geojson_response("hotspots", caller, params, crs)


@router.get("/hotspots/emerging", response_class=Response, responses=media(GEOJSON))
def emerging_geojson(
    caller: CallerDep,
    res: Res = 8,
    freq: Freq = "week",
    k: K = 1,
    crs: Crs = "wgs84",
) -> Response:
    """The emerging hot-spot pattern (ArcGIS's classes) of every cell of the unit's field
    over day, ISO week or month bins, as GeoJSON; 422 below 10 time steps.

    Example: ``/api/v1/hotspots/emerging?res=8&freq=week&unit=DG20``
    """
    params = {"res": res, "freq": freq, "k": k}
    return _geojson_response("emerging", caller, params, crs)


# --------------------------------------------------------------------------
# signed data URLs for pages that fetch their hexagons
# --------------------------------------------------------------------------


def _signature(secret: str, items: dict[str, str]) -> str:
    payload = "&".join(f"{key}={items[key]}" for key in sorted(items))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()[:40]


def signed(secret: str, items: dict[str, Any], ttl_s: int = SIGNED_FOR_S) -> dict[str, str]:
    """``items`` (as text) plus an expiry and their HMAC, ``sig``."""
    clean = {k: str(v) for k, v in items.items() if v is not None}
    clean["expires"] = str(int(time.time()) + ttl_s)
    clean["sig"] = _signature(secret, clean)
    return clean


def verified_items(secret: str, query: dict[str, str]) -> dict[str, str]:
    """The items of a signed query, once its signature and expiry are checked."""
    items = {k: v for k, v in query.items() if k != "sig"}
    if not hmac.compare_digest(_signature(secret, items), query.get("sig", "")):
        raise Forbidden("this map data link is not valid; reload the map")
    if int(items.get("expires", "0")) < time.time():
        raise Forbidden("this map data link has expired; reload the map")
    return items


class _Recent:
    """Analyses a page just computed, so its data link does not compute them again."""

    def __init__(self, size: int = 8) -> None:
        self._items: dict[str, tuple[float, analytics.Analysis]] = {}
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, analysis: analytics.Analysis) -> None:
        with self._lock:
            now = time.monotonic()
            self._items = {k: v for k, v in self._items.items() if v[0] > now and k != key}
            while len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = (now + SIGNED_FOR_S, analysis)

    def get(self, key: str) -> analytics.Analysis | None:
        with self._lock:
            found = self._items.get(key)
        return found[1] if found and found[0] > time.monotonic() else None


_recent = _Recent()


@pages.get("/maps/data/{kind}.geojson", response_class=Response, include_in_schema=False)
def map_data(
    kind: str, request: Request, session: SessionDep, locator: LocatorDep, settings: SettingsDep
) -> Response:
    """The hexagons of a map page (only the properties the page draws), behind a signed
    link (see the module docstring)."""
    if kind not in ("hotspots", "emerging"):
        raise NotFound(f"no map data {kind!r}")
    secret = request.app.state.case_config.secret
    items = verified_items(secret, dict(request.query_params))
    analysis = _recent.get(request.query_params["sig"])
    if analysis is None:
        selection = SelectionParams(
            items.get("since"),
            items.get("until"),
            items.get("category"),
            items.get("unit"),
        ).parse(settings.timezone)
        params: dict[str, Any] = {"res": int(items["res"]), "k": int(items["k"])}
        if kind == "hotspots":
            params |= {"kernel": items["kernel"], "fdr": items["fdr"] == "True"}
        else:
            params["freq"] = items["freq"]
        analysis = _run(kind, session, locator, selection, settings, params)
    properties = maps.hotspot_properties if kind == "hotspots" else maps.emerging_properties
    body = maps.cells_geojson(
        analysis.table["cell"],
        properties(analysis.table),
        crs=_datum(items.get("crs", "wgs84")),
        meta=analysis.meta,
    )
    return compressed(request, body, GEOJSON)


# --------------------------------------------------------------------------
# the staff maps
# --------------------------------------------------------------------------


def _notes(analysis: analytics.Analysis, lang: str, tz: str) -> list[str]:
    """What the legend says about the data: source, how many reports, the window (local)."""
    meta = analysis.meta
    text = maps.TEXT[lang]

    def local(key: str) -> str:
        if not meta[key]:
            return "…"
        return f"{dt.datetime.fromisoformat(meta[key]).astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"

    window = text["all_dates"]
    if meta["since"] or meta["until"]:
        window = f"{local('since')} – {local('until')}"
    params = ", ".join(
        f"{key} {meta[key]}" for key in ("res", "k", "freq") if meta.get(key) is not None
    )
    lines = [
        f"{text['source_' + meta['source']]} · {meta['reports']:,} {text['reports']}",
        f"{window} · {params}",
    ]
    if meta.get("category"):
        lines.append(f"{text['category']}: {meta['category']}")
    return lines


def _map_page(
    kind: str,
    caller: Caller,
    map_settings: AnalyticsSettings,
    params: dict[str, Any],
    basemap: str | None,
    lang: str,
    inline: bool | None,
) -> Response:
    session, locator = caller.session, caller.locator
    options = map_options(caller.request, basemap, lang)
    chosen = caller.chosen()
    analysis = _run(kind, session, locator, chosen, caller.settings, params)
    unit = analytics.resolve_unit(locator.directory, chosen.unit)
    if inline is None:
        inline = len(analysis.table) <= map_settings.map_inline_cells
    data_url = None
    if not inline:
        query = signed(
            caller.request.app.state.case_config.secret,
            {
                **params,
                "since": caller.selection.since,
                "until": caller.selection.until,
                "category": chosen.category,
                "unit": chosen.unit,
                "crs": options.crs,
            },
        )
        data_url = f"/maps/data/{kind}.geojson?{urlencode(query)}"
        _recent.put(query["sig"], analysis)
    parents = analytics.grid_parents(locator)
    grids = None
    if int(parents.mask(unit).sum()) <= MAX_GRID_OUTLINES:
        grids = analytics.grid_outlines(locator, unit, lang=lang)
    overlays: dict[str, Any] = {
        "options": options,
        "grids": grids,
        "towns": analytics.town_outlines(session, locator, unit),
        "patrol_points": analytics.patrol_points(session, locator, unit),
        "cases": analytics.case_markers(session, locator, chosen),
        "data_url": data_url,
        "notes": _notes(analysis, lang, caller.settings.timezone),
    }
    if kind == "hotspots":
        page = maps.hotspot_map(analysis.table, **overlays)
    else:
        page = maps.emerging_map(analysis.table, **overlays)
    return compressed(caller.request, maps.render_html(page), HTML)


Inline = Annotated[
    bool | None,
    Query(description="Inline the hexagons in the page (default: only small fields)"),
]


@pages.get("/maps/hotspots", response_class=Response, responses=media("text/html"))
def hotspot_map_page(
    caller: CallerDep,
    map_settings: AnalyticsSettingsDep,
    res: Res = 9,
    k: K = 1,
    kernel: Kernel = "uniform",
    fdr: Fdr = True,
    basemap: Basemap = None,
    lang: Lang = "zh",
    inline: Inline = None,
) -> Response:
    """The hot-spot map: Gi* classes (ArcGIS colours), counts, town and grid outlines
    with who is on duty, cases by state, patrol points. Works with no internet.

    Example: ``/maps/hotspots?res=9&unit=DG20&lang=en``
    """
    params = {"res": res, "k": k, "kernel": kernel, "fdr": fdr}
    return _map_page("hotspots", caller, map_settings, params, basemap, lang, inline)


@pages.get("/maps/emerging", response_class=Response, responses=media("text/html"))
def emerging_map_page(
    caller: CallerDep,
    map_settings: AnalyticsSettingsDep,
    res: Res = 8,
    freq: Freq = "week",
    k: K = 1,
    basemap: Basemap = None,
    lang: Lang = "zh",
    inline: Inline = None,
) -> Response:
    """The emerging hot-spot map (new, intensifying, persistent, … hot and cold spots).

    Example: ``/maps/emerging?res=8&freq=week&unit=DG20``
    """
    params = {"res": res, "freq": freq, "k": k}
    return _map_page("emerging", caller, map_settings, params, basemap, lang, inline)


# --------------------------------------------------------------------------
# the public map
# --------------------------------------------------------------------------


def public_counts(
    session: Any,
    locator: Any,
    selection: analytics.Selection,
    *,
    res: int,
    min_reports: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Counts per cell, only of cells with at least ``min_reports`` reports: the others
    are dropped here, before anything is drawn or encoded."""
    points = analytics.load_points(session, locator, selection)
    cells, counts = counts_per_cell(points.cells, res)
    keep = counts >= min_reports
    table = pd.DataFrame({"cell": cells_to_strings(cells[keep]), "count": counts[keep]})
    meta = {
        "source": points.source,
        "res": res,
        "min_reports": min_reports,
        "cells": len(table),
        **selection.describe(days=True),
    }
    return table, meta


@pages.get("/public/maps/hotspots", response_class=Response, responses=media("text/html", GEOJSON))
def public_map(
    request: Request,
    session: SessionDep,
    locator: LocatorDep,
    settings: SettingsDep,
    map_settings: AnalyticsSettingsDep,
    since: Annotated[str | None, Query(description="From this date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(description="Until this date (exclusive)")] = None,
    category: Annotated[str | None, Query(description="A category code")] = None,
    unit: Annotated[str | None, Query(description="A town, community or grid code")] = None,
    res: Annotated[int, Query(description="H3 resolution, 6 to 9")] = 8,
    min_reports: Annotated[
        int | None, Query(description="Hide cells with fewer reports (at least the setting, 5)")
    ] = None,
    basemap: Basemap = None,
    lang: Lang = "zh",
    format: Annotated[str, Query(description="html or geojson")] = "html",
) -> Response:
    """Where reports come from, for the public: report counts per cell, no token needed.

    A cell with fewer than ``min_reports`` reports (default and minimum: the
    ``GRIDWATCH_PUBLIC_MIN_REPORTS`` setting, 5) is left out entirely; the page
    shows no case, no marker and no case id. Dates are whole local days.

    Example: ``/public/maps/hotspots?res=8&since=2026-10-01&format=geojson``
    """
    floor = map_settings.public_min_reports
    k = floor if min_reports is None else min_reports
    if k < floor:
        raise InvalidInput(f"min_reports must be at least {floor}, got {k}")
    if not PUBLIC_RES[0] <= res <= PUBLIC_RES[1]:
        raise InvalidInput(f"res must be from {PUBLIC_RES[0]} to {PUBLIC_RES[1]} on the public map")
    if format not in ("html", "geojson"):
        raise InvalidInput(f"format must be html or geojson, got {format!r}")
    params = SelectionParams(_whole_day(since, "since"), _whole_day(until, "until"), category, unit)
    selection = selection_for(params, None, settings, locator)
    table, meta = public_counts(session, locator, selection, res=res, min_reports=k)
    if format == "geojson":
        body = maps.cells_geojson(table["cell"], table, meta=meta)
        return compressed(request, body, GEOJSON)
    options = map_options(request, basemap, lang)
    towns = analytics.town_outlines(
        session, locator, analytics.resolve_unit(locator.directory, selection.unit)
    )
    text = maps.TEXT[lang]
    page = maps.counts_map(
        table,
        options=options,
        towns=towns[["code", "name", "geometry"]],
        notes=[text["public_note"].format(k=k), text["source_" + meta["source"]]],
    )
    return compressed(request, maps.render_html(page), HTML)


def _whole_day(text: str | None, name: str) -> str | None:
    """Public windows are whole days: no finer slicing to single out one report."""
    if text is None or text == "":
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise InvalidInput(f"{name} {text!r} must be a date, YYYY-MM-DD") from exc
