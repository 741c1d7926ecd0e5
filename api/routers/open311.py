"""Open311 GeoReport v2 under /open311/v2/, in JSON and XML.

Errors follow the specification: HTTP 400, 403 or 404 with a list of
``{"code", "description"}`` (``<errors><error>`` in XML); a POST that is not
form-encoded is a 415. A POST may give ``crs`` (wgs84, gcj02, bd09) for its
``lat``/``long``, converted as the JSON API converts them (one intake, ``submit``).
The listings are public and follow :mod:`grids.exchange.publication`.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from api.analytics_deps import AnalyticsSettingsDep
from api.deps import LocatorDep, SessionDep, SettingsDep
from api.openapi import OPEN311_ERRORS, media
from geo.errors import GeoInputError
from grids.accounts.reporters import open311_user_id
from grids.accounts.users import check_api_key
from grids.cases.intake import NewReport, OutsideServiceArea, submit
from grids.cases.models import Case
from grids.city.models import Category
from grids.errors import GridwatchError, InvalidInput
from grids.exchange.open311 import CLOSED_STATES, as_request, service_definition, services
from grids.exchange.publication import listable
from grids.limits import MAX_ID, as_utc, parse_id

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=OPEN311_ERRORS)
FORMATS = {"json": "application/json", "xml": "text/xml; charset=utf-8"}
FORMATS_DOC = media("application/json", "text/xml")
CREATED_DOC = media("application/json", "text/xml", status=201, description="Created")
SINGULAR = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
MAX_RESULTS = 1000
DEFAULT_DAYS = 90


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, name: str, data: Any) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _fill(ET.SubElement(element, key), key, value)
    elif isinstance(data, list):
        for value in data:
            _fill(
                ET.SubElement(element, SINGULAR.get(name, "item")),
                SINGULAR.get(name, "item"),
                value,
            )
    elif data is None:
        pass
    elif isinstance(data, bool):
        element.text = "true" if data else "false"
    else:
        element.text = str(data)


def respond(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, data), status_code=status, media_type=FORMATS["xml"])
    return JSONResponse(data, status_code=status)


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"unknown format .{fmt}; use .json or .xml")
    return fmt


def install(app: Any) -> None:
    """Answer Open311 errors as the specification says, in the format asked for."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Open311Error)
        fmt = "xml" if request.url.path.endswith(".xml") else "json"
        return respond(
            fmt, "errors", [{"code": exc.status, "description": exc.description}], exc.status
        )

    app.add_exception_handler(Open311Error, handler)


@router.get("/discovery.{fmt}", response_class=Response, responses=FORMATS_DOC)
def discovery(request: Request, fmt: str) -> Response:
    """Where this GeoReport v2 endpoint lives and what it speaks."""
    base = str(request.base_url).rstrip("/") + "/open311/v2"
    data = {
        "changeset": "2026-11-22T00:00:00Z",
        "contact": "智网调度中心 / city dispatch centre",
        "key_service": "gridwatch apikey create --name CLIENT",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-11-22T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return respond(_format(fmt), "discovery", data)


@router.get("/services.{fmt}", response_class=Response, responses=FORMATS_DOC)
def list_services(session: SessionDep, fmt: str) -> Response:
    """The categories, grouped by the department that handles them."""
    return respond(_format(fmt), "services", services(session))


@router.get("/services/{code}.{fmt}", response_class=Response, responses=FORMATS_DOC)
def one_service(session: SessionDep, code: str, fmt: str) -> Response:
    fmt = _format(fmt)
    definition = service_definition(session, code)
    if definition is None:
        raise Open311Error(404, f"no service {code!r}")
    return respond(fmt, "service_definition", definition)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@router.post("/requests.{fmt}", status_code=201, response_class=Response, responses=CREATED_DOC)
async def post_request(request: Request, locator: LocatorDep, fmt: str) -> Response:
    """Create a service request (form-encoded, ``api_key`` required; ``crs`` optional)."""
    fmt = _format(fmt)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in FORM_TYPES:
        raise Open311Error(
            415,
            f"Open311 POST takes form-encoded data ({FORM_TYPES[0]} or {FORM_TYPES[1]}), "
            f"not {content_type}: send api_key, service_code, lat, long (and crs) as form "
            "fields; JSON reports go to POST /api/v1/cases",
        )
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_create, request, locator, fields, fmt)


def _create(request: Request, locator: Any, fields: dict[str, str], fmt: str) -> Response:
    sessions = request.app.state.sessions
    with sessions() as session:
        try:
            client_id = check_api_key(session, fields.get("api_key")).id
        except GridwatchError as exc:
            raise Open311Error(403, str(exc)) from exc
    code = fields.get("service_code")
    if not code:
        raise Open311Error(400, "service_code is required")
    if not fields.get("lat") or not fields.get("long"):
        raise Open311Error(
            400, "lat and long are required (this endpoint does not geocode addresses)"
        )
    try:
        lat, lon = float(fields["lat"]), float(fields["long"])
    except ValueError as exc:
        raise Open311Error(
            400, "lat and long must be numbers: degrees in crs (wgs84 unless given)"
        ) from exc
    attributes = {
        key[len("attribute[") : -1]: value
        for key, value in fields.items()
        if key.startswith("attribute[") and key.endswith("]")
    }
    for key in ("address_string", "media_url", "device_id"):
        if fields.get(key):
            attributes[key] = fields[key]
    name = " ".join(filter(None, (fields.get("first_name"), fields.get("last_name")))) or None
    report = NewReport(
        lat=lat,
        lon=lon,
        crs=fields.get("crs") or "wgs84",
        category=code,
        description=fields.get("description", "")[:4000],
        source="open311",
        reporter_id=open311_user_id(fields.get("account_id"), fields.get("email")),
        reporter_name=name,
        reporter_phone=fields.get("phone") or None,
        attributes=attributes,
    )
    with sessions() as session:
        if session.scalar(select(Category.id).where(Category.code == code)) is None:
            raise Open311Error(404, f"no service {code!r}; see services.{fmt}")
    try:
        body, _ = submit(
            sessions,
            locator,
            request.app.state.case_config,
            report,
            user=None,
            client_id=client_id,
            render=lambda session, item: [
                {
                    "service_request_id": str(item.id),
                    "service_notice": as_request(session, item)["service_notice"],
                    "account_id": None,
                }
            ],
        )
    except (OutsideServiceArea, GeoInputError, GridwatchError) as exc:
        raise Open311Error(400, str(exc)) from exc
    return respond(fmt, "service_requests", body, status=201)


@router.get("/requests.{fmt}", response_class=Response, responses=FORMATS_DOC)
def get_requests(
    session: SessionDep,
    settings: SettingsDep,
    public: AnalyticsSettingsDep,
    fmt: str,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Service requests: by id (comma-separated) or by code, dates and status.

    Without dates, the last 90 days; at most 1000 results, newest first. Positions are
    the centres of H3 cells at res 8; cases in cells with fewer than
    ``GRIDWATCH_PUBLIC_MIN_REPORTS`` cases are not listed; description, address and
    media URL only when a dispatcher released them.
    """
    fmt = _format(fmt)
    query = select(Case)
    if service_request_id:
        ids = [parse_id(i.strip()) for i in service_request_id.split(",") if i.strip()]
        if None in ids:
            raise Open311Error(
                400, f"service_request_id must be request ids (1 to {MAX_ID}), comma-separated"
            )
        query = query.where(Case.id.in_(ids))
    else:
        end = _date(end_date, "end_date", settings.timezone) or dt.datetime.now(dt.UTC)
        start = _date(start_date, "start_date", settings.timezone) or end - dt.timedelta(
            days=DEFAULT_DAYS
        )
        if start > end:
            raise Open311Error(400, "start_date is after end_date")
        query = query.where(Case.reported_at >= start, Case.reported_at <= end)
        if service_code:
            query = query.join(Category, Category.id == Case.category_id).where(
                Category.code.in_(service_code.split(","))
            )
        if status:
            if status not in ("open", "closed"):
                raise Open311Error(400, "status must be open or closed")
            closed = Case.status.in_(CLOSED_STATES)
            query = query.where(closed if status == "closed" else ~closed)
    rows = session.scalars(
        query.order_by(Case.reported_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    ).all()
    shown = listable(session, rows, public.public_min_reports)
    return respond(fmt, "service_requests", [as_request(session, c) for c in shown])


@router.get("/requests/{request_id}.{fmt}", response_class=Response, responses=FORMATS_DOC)
def get_request(
    session: SessionDep, public: AnalyticsSettingsDep, request_id: str, fmt: str
) -> Response:
    fmt = _format(fmt)
    case_id = parse_id(request_id)
    item = session.get(Case, case_id) if case_id is not None else None
    if item is None or not listable(session, [item], public.public_min_reports):
        raise Open311Error(404, f"no service request {request_id!r}")
    return respond(fmt, "service_requests", [as_request(session, item)])


@router.get("/tokens/{token}.{fmt}", response_class=Response, responses=FORMATS_DOC)
def get_token(session: SessionDep, token: str, fmt: str) -> Response:
    """Requests are created at once, so a token is the request's id."""
    fmt = _format(fmt)
    case_id = parse_id(token)
    item = session.get(Case, case_id) if case_id is not None else None
    if item is None:
        raise Open311Error(404, f"no request for token {token!r}")
    return respond(fmt, "service_requests", [{"service_request_id": str(item.id), "token": token}])


def _date(value: str | None, name: str, tz: str) -> dt.datetime | None:
    """A W3C date-time; without an offset, the city's local time (as everywhere else)."""
    if not value:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")), tz, name)
    except ValueError as exc:
        raise Open311Error(
            400, f"{name} must be a W3C date-time, e.g. 2026-11-01T00:00:00Z"
        ) from exc
    except InvalidInput as exc:
        raise Open311Error(400, str(exc)) from exc
