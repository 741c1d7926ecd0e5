"""Summaries of the case loop (日小结、周汇报、月汇总): JSON, CSV and an HTML report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.analytics_deps import ViewerDep
from api.deps import LocatorDep, SessionDep, SettingsDep
from api.openapi import media
from api.summary_report import render_summary_html, summary_csv
from grids.analytics.hotspots import Selection
from grids.analytics.summaries import parse_day, summarise
from grids.errors import InvalidInput

router = APIRouter(tags=["summaries"])
pages = APIRouter(tags=["summaries"])

Period = Annotated[str, Query(description="day, week (ISO, Monday first) or month")]
Day = Annotated[
    str | None, Query(alias="date", description="Any day of the period, YYYY-MM-DD (default today)")
]
UnitCode = Annotated[
    str | None, Query(description="A town, community or grid code (default: your scope)")
]


def _summary(
    session: Any,
    locator: Any,
    settings: Any,
    viewer: Any,
    period: str,
    day: str | None,
    unit: str | None,
) -> dict[str, Any]:
    """The summary for the viewer's unit (or one within their scope)."""
    chosen = viewer.narrow(locator.directory, Selection(unit=unit or None))
    return summarise(
        session,
        locator.directory,
        period=period,
        day=parse_day(day, settings.timezone),
        unit=chosen.unit,
        tz=settings.timezone,
    )


@router.get("/summaries", response_class=Response, responses=media("application/json", "text/csv"))
def summaries(
    session: SessionDep,
    locator: LocatorDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    period: Period = "week",
    day: Day = None,
    unit: UnitCode = None,
    format: Annotated[str, Query(description="json or csv")] = "json",
) -> Response:
    """Received, routed, verified valid, rejected (by reason), duplicates, closed, still open;
    median and 90th-percentile minutes to acknowledge, verify and close; deadlines missed,
    escalations, rewards; top categories and cells; the change against the previous period.

    Example: ``/api/v1/summaries?period=week&date=2026-11-16&unit=DG20&format=csv``
    """
    if format not in ("json", "csv"):
        raise InvalidInput(f"format must be json or csv, got {format!r}")
    summary = _summary(session, locator, settings, viewer, period, day, unit)
    if format == "csv":
        name = f"summary-{summary['period']['label']}-{summary['unit']['code'] or 'city'}.csv"
        return Response(
            summary_csv(summary),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(summary)


@pages.get("/reports/{period}", response_class=Response, responses=media("text/html"))
def report_page(
    period: str,
    session: SessionDep,
    locator: LocatorDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    day: Day = None,
    unit: UnitCode = None,
    lang: Annotated[str, Query(description="zh or en")] = "zh",
) -> HTMLResponse:
    """The summary as a printable page with charts (inline SVG, nothing to download).

    Example: ``/reports/week?date=2026-11-16&unit=DG20``
    """
    summary = _summary(session, locator, settings, viewer, period, day, unit)
    return HTMLResponse(render_summary_html(summary, lang))
