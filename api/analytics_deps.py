"""What the analytics routes share: who may look, their settings, query parameters, responses.

Maps and reports are opened in a browser as often as they are fetched by a
client, so the caller's token is read from the ``Authorization: Bearer``
header or, failing that, from the ``gridwatch_token`` cookie (which a web
console sets at login). Planners and admins see the whole city; dispatchers
and patrol leaders the unit of their scope (and their default unit is that
one); officers and reporters see no analytics.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from api.auth import session_user
from api.deps import LocatorDep, SessionDep, SettingsDep
from api.settings import Settings
from grids.accounts.scope import scope_of
from grids.accounts.users import Forbidden
from grids.analytics.hotspots import (
    Selection,
    in_scope,
    parse_instant,
    resolve_unit,
    scoped_selection,
)
from grids.cases.intake import require_role
from grids.city.directory import Directory
from grids.city.locator import GridLocator

ANALYTICS_ROLES = ("planner", "dispatcher", "patrol_leader", "admin")
GZIP_ABOVE = 2048


class AnalyticsSettings(BaseSettings):
    """Settings of the maps and the public map (``GRIDWATCH_MAP_*``, ``GRIDWATCH_PUBLIC_*``);
    their basemap is the service's (``GRIDWATCH_BASEMAP_*``, see :mod:`api.basemap`)."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", env_file=".env", extra="ignore")

    map_inline_cells: int = Field(
        default=5000, ge=0, description="Larger fields are fetched by the page, not inlined"
    )
    public_min_reports: int = Field(
        default=5, ge=2, description="The public map never shows a cell with fewer reports"
    )


@lru_cache(maxsize=1)
def _environment_settings() -> AnalyticsSettings:
    return AnalyticsSettings()


def analytics_settings(request: Request) -> AnalyticsSettings:
    """``app.state.analytics_settings`` when a test or the factory set one, else the environment."""
    configured = getattr(request.app.state, "analytics_settings", None)
    return configured if configured is not None else _environment_settings()


AnalyticsSettingsDep = Annotated[AnalyticsSettings, Depends(analytics_settings)]


@dataclass(frozen=True)
class Viewer:
    """A caller allowed to see analytics: their role, the units they may see
    (None: everywhere) and their own unit (the default of every query)."""

    role: str
    unit_ids: frozenset[int] | None
    home: str | None

    def narrow(self, directory: Directory, selection: Selection) -> Selection:
        """The selection on the viewer's own unit when none is named; refuses others' units."""
        selection = scoped_selection(selection, self.home)
        unit = resolve_unit(directory, selection.unit)
        if not in_scope(directory, unit, self.unit_ids):
            raise Forbidden(
                f"unit {selection.unit or 'city'} is outside your scope ({self.home}); "
                "ask for a unit within it"
            )
        return selection


def current_viewer(request: Request, locator: LocatorDep) -> Viewer:
    user = session_user(request)
    require_role(user, *ANALYTICS_ROLES)
    scope = scope_of(user, locator.directory)
    if scope.unit_ids is not None and not scope.unit_ids:
        raise Forbidden(f"this {user.role} has no scope unit; an admin must give them one")
    home = None
    if scope.unit_ids is not None and user.scope_unit_id is not None:
        home = locator.directory.units[user.scope_unit_id].code
    return Viewer(user.role, scope.unit_ids, home)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


@dataclass(frozen=True)
class SelectionParams:
    """The query parameters that choose the reports, as given (parsed per request)."""

    since: str | None
    until: str | None
    category: str | None
    unit: str | None

    def parse(self, tz: str) -> Selection:
        return Selection(
            parse_instant(self.since, tz, name="since"),
            parse_instant(self.until, tz, name="until"),
            self.category or None,
            self.unit or None,
        )


def selection_params(
    since: Annotated[
        str | None,
        Query(description="From (inclusive): YYYY-MM-DD is local midnight, or an ISO time"),
    ] = None,
    until: Annotated[str | None, Query(description="Until (exclusive), as since")] = None,
    category: Annotated[
        str | None, Query(description="A category code, e.g. garbage_piled")
    ] = None,
    unit: Annotated[
        str | None, Query(description="A town, community or grid code (default: your scope)")
    ] = None,
) -> SelectionParams:
    return SelectionParams(since, until, category, unit)


SelectionDep = Annotated[SelectionParams, Depends(selection_params)]


def selection_for(
    params: SelectionParams, viewer: Viewer | None, settings: SettingsDep, locator: LocatorDep
) -> Selection:
    """The parsed selection, narrowed to the viewer's scope (None: the public)."""
    selection = params.parse(settings.timezone)
    selection.check(locator.directory)
    return viewer.narrow(locator.directory, selection) if viewer is not None else selection


@dataclass(frozen=True)
class Caller:
    """What a staff analytics route is given: the request, the store, the settings, the viewer
    and the selection as asked (parsed and narrowed by :meth:`chosen`)."""

    request: Request
    session: Session
    locator: GridLocator
    settings: Settings
    viewer: Viewer
    selection: SelectionParams

    def chosen(self) -> Selection:
        """The selection, parsed and narrowed to the viewer's scope."""
        return selection_for(self.selection, self.viewer, self.settings, self.locator)


def current_caller(
    request: Request,
    session: SessionDep,
    locator: LocatorDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    selection: SelectionDep,
) -> Caller:
    return Caller(request, session, locator, settings, viewer, selection)


CallerDep = Annotated[Caller, Depends(current_caller)]


def compressed(request: Request, body: str | bytes, media_type: str) -> Response:
    """A response gzip-compressed when the client accepts it: map pages and hexagon
    collections are megabytes of repetitive text, a fifth of that on the wire."""
    data = body.encode() if isinstance(body, str) else body
    headers = {"Vary": "Accept-Encoding"}
    if len(data) > GZIP_ABOVE and "gzip" in request.headers.get("accept-encoding", ""):
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=media_type, headers=headers)


GEOJSON = "application/geo+json"
HTML = "text/html; charset=utf-8"
