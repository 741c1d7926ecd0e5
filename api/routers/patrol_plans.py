"""Patrol route plans and coverage gaps over HTTP (JSON, GeoJSON, GPX or an HTML map)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.assets import self_contained
from api.auth import CurrentScope, CurrentUser, PageScope, PageUser
from api.basemap import map_options
from api.deps import LocatorDep, SessionDep
from api.openapi import media
from api.params import Instant
from geo.maps.pages import MapOptions, render_html
from geo.patrol.formats import plan_to_geojson, plan_to_gpx, plan_to_json
from geo.patrol.maps import gaps_map, plan_map
from geo.patrol.plan import Candidate, MustVisit, Plan, Team, plan_routes
from grids.accounts.scope import Scope
from grids.accounts.users import Forbidden
from grids.analytics.hotspots import Selection
from grids.cases.intake import require_role
from grids.limits import as_utc
from grids.patrols.planning import candidates_from, coverage_gaps, hot_cells, must_visit_points

router = APIRouter(prefix="/patrols", tags=["patrols"])
pages = APIRouter(tags=["maps"], include_in_schema=True)
PLANNERS = ("patrol_leader", "dispatcher", "admin")
Format = Literal["json", "geojson", "gpx", "html"]


class PointIn(BaseModel):
    lat: float
    lon: float


class TeamIn(BaseModel):
    name: str = Field(max_length=100)
    start: PointIn
    end: PointIn | None = None
    shift_start: Instant = Field(description="With offset, e.g. 2026-11-23T19:00:00+08:00")
    shift_minutes: float = Field(gt=0, le=24 * 60)


class CandidateIn(BaseModel):
    id: str
    lat: float
    lon: float
    prize: float = Field(ge=0)
    name: str | None = Field(default=None, max_length=200, description="Shown on the phones")


class MustIn(BaseModel):
    id: str
    name: str
    lat: float
    lon: float


class PlanRequest(BaseModel):
    """What to plan. Without ``candidates`` the stops are the unit's hot-spot cells (prize:
    Gi* z); without ``must_visit`` the unit's must-visit patrol points."""

    unit: str | None = Field(default=None, description="Town code (default: your town)")
    teams: list[TeamIn] = Field(min_length=1, max_length=20)
    candidates: list[CandidateIn] | None = Field(default=None, max_length=1000)
    must_visit: list[MustIn] | None = Field(default=None, max_length=200)
    res: int = Field(default=9, ge=6, le=10)
    since: Instant | None = None
    until: Instant | None = None
    category: str | None = None
    dwell_minutes: float = Field(default=12, gt=0, le=120)
    speed_kmh: float = Field(default=15, gt=0, le=120)
    detour: float = Field(default=1.3, ge=1, le=5)
    seed: int | None = None
    time_limit_s: float = Field(default=10, gt=0, le=30)
    format: Format = "json"


def _unit_for(scope: Scope, user_unit: str | None, locator: Any) -> str | None:
    if user_unit is not None:
        unit = locator.directory.units_by_code.get(user_unit)
        if (
            unit is not None
            and not scope.everywhere
            and (scope.unit_ids is None or unit.id not in scope.unit_ids)
        ):
            raise Forbidden(f"{user_unit} is outside your scope")
        return user_unit
    if scope.unit_ids:
        return locator.directory.units[next(iter(scope.unit_ids))].code
    return None


@router.post(
    "/plans",
    response_class=Response,
    responses=media("application/json", "application/geo+json", "application/gpx+xml", "text/html"),
)
async def make_plan(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    body: PlanRequest,
) -> Response:
    """Plan routes through the hot spots and the must-visit points within each shift.

    The largest total prize, ties broken by less travel; must-visit points that
    cannot all fit are named in ``dropped_must`` and ``warnings``.
    """
    require_role(user, *PLANNERS)
    unit = _unit_for(scope, body.unit, locator)
    hot = None
    if body.candidates is None:
        tz = request.app.state.settings.timezone
        selection = Selection(
            since=as_utc(body.since, tz, "since"),
            until=as_utc(body.until, tz, "until"),
            category=body.category,
            unit=unit,
        )
        hot = hot_cells(session, locator, selection, res=body.res)
        candidates = candidates_from(hot)
    else:
        candidates = [Candidate(c.id, c.lat, c.lon, c.prize, c.name) for c in body.candidates]
    must = (
        must_visit_points(session, locator, unit)
        if body.must_visit is None
        else [MustVisit(m.id, m.name, m.lat, m.lon) for m in body.must_visit]
    )
    teams = [
        Team(
            t.name,
            t.start.lat,
            t.start.lon,
            t.shift_start,
            t.shift_minutes,
            t.end.lat if t.end else None,
            t.end.lon if t.end else None,
        )
        for t in body.teams
    ]
    plan = await run_in_threadpool(
        plan_routes,
        candidates,
        must,
        teams,
        dwell_minutes=body.dwell_minutes,
        speed_kmh=body.speed_kmh,
        detour=body.detour,
        seed=body.seed,
        time_limit_s=body.time_limit_s,
    )
    return render_plan(
        plan, body.format, hot.table if hot is not None else None, map_options(request)
    )


def render_plan(plan: Plan, fmt: str, hotspots: Any, options: MapOptions) -> Response:
    """A plan in the asked format."""
    if fmt == "geojson":
        return Response(
            json.dumps(plan_to_geojson(plan), ensure_ascii=False), media_type="application/geo+json"
        )
    if fmt == "gpx":
        return Response(
            plan_to_gpx(plan),
            media_type="application/gpx+xml",
            headers={"Content-Disposition": 'attachment; filename="patrol-plan.gpx"'},
        )
    if fmt == "html":  # a page to save and open from disk: everything inline
        page = render_html(plan_map(plan, hotspots=hotspots, options=options))
        return Response(self_contained(page), media_type="text/html")
    return Response(
        json.dumps(plan_to_json(plan), ensure_ascii=False), media_type="application/json"
    )


@router.get("/gaps")
def gaps(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    res: Annotated[int, Query(ge=6, le=10)] = 9,
    unit: str | None = None,
) -> dict[str, Any]:
    """Hot-spot cells and must-visit points with no check-in in the last ``hours``, worst first."""
    require_role(user, *PLANNERS, "planner")
    unit = _unit_for(scope, unit, locator)
    hot = hot_cells(session, locator, Selection(unit=unit), res=res)
    return coverage_gaps(session, locator, hot, hours=hours, unit_code=unit)


@pages.get("/maps/patrol-gaps", response_class=Response, responses=media("text/html"))
def gaps_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    scope: PageScope,
    locator: LocatorDep,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    res: Annotated[int, Query(ge=6, le=10)] = 9,
    unit: str | None = None,
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """The coverage gaps on a map: unvisited hot cells and unvisited must-visit points."""
    found = gaps(request, session, user, scope, locator, hours=hours, res=res, unit=unit)
    page = gaps_map(found, options=map_options(request, lang=lang))
    return Response(render_html(page), media_type="text/html")
