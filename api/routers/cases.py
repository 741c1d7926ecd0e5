"""The case loop over HTTP: intake, the dispatch queue, actions, history, photos."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.deps import LocatorDep, SessionDep
from api.openapi import media, request_schema
from api.params import CaseId, IdValue, Instant, PhotoId, VersionValue
from api.routers.locate import check_point
from api.uploads import json_and_photos, validated
from geo.crs import parse_crs, to_wgs84
from grids import limits
from grids.cases.intake import NewReport, add_event, require_role, submit
from grids.cases.lifecycle import Action, apply_action
from grids.cases.models import Photo
from grids.cases.queries import (
    QueueFilter,
    get_case,
    nearby_open_cases,
    queue,
    status_counts,
    visible_case,
)
from grids.cases.views import case_view, history
from grids.city.queries import parse_bbox
from grids.db import transaction
from grids.errors import InvalidInput, NotFound
from grids.events import publish
from grids.limits import MAX_ID, as_utc

router = APIRouter(tags=["cases"])
STAFF = ("officer", "dispatcher", "patrol_leader", "planner", "admin")


class ReporterIn(BaseModel):
    """Who reports, for an app's token; contact data (name, phone) is never an identity."""

    id: str | None = Field(
        default=None,
        max_length=limits.EXTERNAL_ID_MAX,
        description="An app's own id of the citizen it files for: that citizen is the reporter",
    )
    name: str | None = Field(default=None, max_length=limits.NAME_MAX, description="Contact data")
    phone: str | None = Field(default=None, max_length=limits.PHONE_MAX, description="Contact data")


class ReportIn(BaseModel):
    """A new report. Coordinates in ``crs``: wgs84 (GPS), gcj02 (WeChat, Amap) or bd09 (Baidu)."""

    lat: float
    lon: float
    crs: str = "wgs84"
    category: str = Field(description="A category code, e.g. garbage_piled")
    description: str = Field(default="", max_length=limits.DESCRIPTION_MAX)
    occurred_at: Instant | None = None
    source: str = Field(default="app", description="app, wechat, patrol or hotline")
    reporter: ReporterIn | None = None
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description=f"At most {limits.ATTRIBUTES_MAX_BYTES // 1024} KB as JSON, "
        f"{limits.ATTRIBUTES_MAX_DEPTH} levels deep, scalar values",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "lat": 23.02,
                    "lon": 113.75,
                    "category": "fire_exit_blocked",
                    "description": "楼梯间堆满杂物",
                    "source": "app",
                    "reporter": {"id": "wx-123", "name": "张三", "phone": "13800000000"},
                }
            ]
        }
    }


class ActionIn(BaseModel):
    """The body of an action; which fields matter depends on the action."""

    version: VersionValue | None = Field(
        default=None, description="The version you saw (or If-Match)"
    )
    note: str = Field(default="", max_length=4000)
    public_note: str | None = Field(
        default=None, max_length=1000, description="Shown to the reporter"
    )
    lat: float | None = Field(default=None, description="Your position (in crs); verify needs it")
    lon: float | None = None
    crs: str = Field(default="wgs84", description="Datum of lat/lon: wgs84, gcj02 or bd09")
    valid: bool | None = Field(default=None, description="verify: is the report valid?")
    reason: str | None = Field(
        default=None, description="verify invalid: invalid, duplicate, not_ours"
    )
    officer: str | None = Field(default=None, description="reassign: person code")
    grid: str | None = Field(default=None, description="reassign: grid code")
    department: str | None = Field(default=None, description="reassign: department code")
    duplicate_of: IdValue | None = Field(default=None, description="merge: the original case id")


async def _read_report(request: Request) -> tuple[ReportIn, list[tuple[str, bytes]]]:
    """JSON, or multipart with a ``report`` field (JSON) and ``photos`` files."""
    body, photos = await json_and_photos(request, "report")
    return validated(ReportIn, body, "report"), photos


@router.post(
    "/cases",
    status_code=201,
    responses={200: {"description": "A retry with the same Idempotency-Key: the first case"}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": request_schema(ReportIn)},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "report": {"type": "string", "description": "the report as JSON"},
                            "photos": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            },
                        },
                    }
                },
            },
            "required": True,
        }
    },
)
async def submit_case(
    request: Request,
    response: Response,
    user: CurrentUser,
    locator: LocatorDep,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=limits.IDEMPOTENCY_KEY_MAX)
    ] = None,
) -> dict[str, Any]:
    """Report a problem: routed at once to the grid officer on duty; durable before the reply.

    Retries with the same ``Idempotency-Key`` return the first result.
    """
    body, raw_photos = await _read_report(request)
    check_point(body.lat, body.lon)
    parse_crs(body.crs)
    config = request.app.state.case_config
    config.photos.check_count(len(raw_photos))
    report = NewReport(
        lat=body.lat,
        lon=body.lon,
        category=body.category,
        crs=body.crs,
        description=body.description,
        occurred_at=body.occurred_at,
        source=body.source,
        reporter_id=body.reporter.id if body.reporter else None,
        reporter_name=body.reporter.name if body.reporter else None,
        reporter_phone=body.reporter.phone if body.reporter else None,
        attributes=body.attributes,
    )
    base = str(request.base_url).rstrip("/")
    # the database work blocks: keep it off the event loop
    view, replayed = await run_in_threadpool(
        submit,
        request.app.state.sessions,
        locator,
        config,
        report,
        user=user,
        render=lambda session, item: case_view(session, item, viewer_role=user.role, base_url=base),
        idempotency_key=idempotency_key,
        photos=raw_photos,
    )
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        response.headers["Location"] = f"/api/v1/cases/{view['id']}"
    return view


@router.get("/cases/nearby")
def nearby(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    lat: float,
    lon: float,
    category: str,
    crs: str = "wgs84",
) -> list[dict[str, Any]]:
    """Open cases of the same category within its radius and window, nearest first."""
    require_role(user, *STAFF)
    check_point(lat, lon)
    wlat, wlon = (float(v) for v in to_wgs84(lat, lon, parse_crs(crs)))
    found = nearby_open_cases(
        session,
        request.app.state.case_config.duplicate_window_days,
        wlat,
        wlon,
        category,
        scope=scope,
    )
    return [
        {
            "id": c.id,
            "status": c.status,
            "distance_m": round(d, 1),
            "reported_at": c.reported_at.isoformat(),
        }
        for c, d in found
    ]


@router.get("/cases")
def dispatch_queue(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    status: Annotated[list[str] | None, Query(description="repeat for several")] = None,
    grid: str | None = None,
    town: str | None = None,
    category: str | None = None,
    officer: str | None = None,
    since: Annotated[Instant | None, Query(description="reported from (ISO 8601)")] = None,
    until: Annotated[Instant | None, Query(description="reported before (ISO 8601)")] = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    overdue: Annotated[bool, Query(description="only cases past their next deadline")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The dispatch queue in the caller's scope: overdue first, paginated; ``counts``: how many
    cases of the other filters are in each status."""
    require_role(user, *STAFF)
    tz = request.app.state.settings.timezone
    filters = QueueFilter(
        statuses=tuple(status or ()),
        grid=grid,
        town=town,
        category=category,
        officer=officer,
        since=as_utc(since, tz, "since"),
        until=as_utc(until, tz, "until"),
        bbox=parse_bbox(bbox) if bbox else None,
        overdue=overdue,
    )
    rows, total = queue(session, scope, filters, limit=limit, offset=offset)
    base = str(request.base_url).rstrip("/")
    return {
        "total": total,
        "counts": status_counts(session, scope, filters),
        "limit": limit,
        "offset": offset,
        "cases": [case_view(session, c, viewer_role=user.role, base_url=base) for c in rows],
    }


@router.get("/cases/{case_id}")
def read_case(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    own: CurrentOwn,
    case_id: CaseId,
) -> dict[str, Any]:
    """One case, as your role may see it (an app: one of its user's, ``?reporter=ID``)."""
    item = visible_case(session, case_id, scope, own)
    return case_view(
        session, item, viewer_role=user.role, base_url=str(request.base_url).rstrip("/")
    )


@router.get("/cases/{case_id}/history")
def case_history(
    session: SessionDep, user: CurrentUser, scope: CurrentScope, own: CurrentOwn, case_id: CaseId
) -> list[dict[str, Any]]:
    """Every audit row of a case: who, role, when, from → to, note, position."""
    item = visible_case(session, case_id, scope, own)
    return history(session, item, public=user.role == "reporter")


@router.post("/cases/{case_id}/photos", status_code=201)
async def add_photos(
    request: Request, user: CurrentUser, scope: CurrentScope, case_id: CaseId
) -> list[dict[str, Any]]:
    """Add photos to a case (e.g. of the resolution): multipart field ``photos``."""
    require_role(user, "officer", "dispatcher", "admin")
    form = await request.form(max_files=100)
    files = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
    if not files:
        raise InvalidInput("send one or more files in the multipart field 'photos'")
    kind = str(form.get("kind") or "resolution")
    store = request.app.state.case_config.photos
    uploads = [(f.filename or "photo", await f.read()) for f in files]
    # decoding takes CPU time: off the event loop, and before the write transaction
    stored = await run_in_threadpool(store.store_all, uploads, kind)
    try:
        with transaction(request.app.state.sessions) as session:
            item = get_case(session, case_id, scope)
            for photo in stored:
                photo.case_id = item.id
                session.add(photo)
            add_event(
                session,
                item,
                "photo",
                item.status,
                item.status,
                actor_user=user,
                actor_role=user.role,
                note=f"{len(stored)} {kind} photo(s) added",
            )
            publish(session, "case.changed", case=item, data={"action": "photo", "by": user.name})
            added = [
                {"id": p.id, "kind": p.kind, "url": f"/api/v1/cases/{item.id}/photos/{p.id}"}
                for p in stored
            ]
    except BaseException:
        store.discard(stored)
        raise
    store.keep(stored)
    return added


@router.get(
    "/cases/{case_id}/photos/{photo_id}",
    response_class=Response,
    responses=media("image/jpeg", "image/png", "image/webp"),
)
def read_photo(
    request: Request,
    session: SessionDep,
    scope: CurrentScope,
    own: CurrentOwn,
    case_id: CaseId,
    photo_id: PhotoId,
) -> FileResponse:
    """A photo of a case, only to those who may see the case."""
    item = visible_case(session, case_id, scope, own)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.case_id != item.id:
        raise NotFound(f"no photo {photo_id} on case {case_id}")
    return FileResponse(
        request.app.state.case_config.photos.path(photo),
        media_type=photo.content_type,
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.post("/cases/{case_id}/{action}")
def act(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    case_id: CaseId,
    action: str,
    body: ActionIn,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Move a case: acknowledge, verify, start, resolve, close, reopen, reassign, escalate, merge.

    Send the version you saw (``If-Match``, or ``version`` in the body): without it the
    answer is 428 Precondition Required; a case changed meanwhile, or in the wrong
    state, is a 409 that says why.
    """
    expected = body.version
    if if_match:
        try:
            expected = int(if_match.strip().strip('"').removeprefix("W/").strip('"'))
        except ValueError as exc:
            raise InvalidInput("If-Match must be the case version, e.g. If-Match: 3") from exc
        if not 0 <= expected <= MAX_ID:
            raise InvalidInput(f"If-Match {if_match!r} is no version of a case")
    if (body.lat is None) != (body.lon is None):
        raise InvalidInput("give both lat and lon of your position, or neither")
    if body.lat is not None and body.lon is not None:
        check_point(body.lat, body.lon)
    require_role(user, *STAFF)  # reporters read their own cases but never act on them
    with transaction(request.app.state.sessions) as session:
        item = get_case(session, case_id, scope)
        apply_action(
            session,
            locator.directory,
            request.app.state.case_config,
            item,
            Action(
                name=action,
                expected_version=expected,
                note=body.note,
                public_note=body.public_note,
                lat=body.lat,
                lon=body.lon,
                crs=body.crs,
                valid=body.valid,
                reason=body.reason,
                officer=body.officer,
                grid=body.grid,
                department=body.department,
                duplicate_of=body.duplicate_of,
            ),
            user=user,
        )
        return case_view(
            session, item, viewer_role=user.role, base_url=str(request.base_url).rstrip("/")
        )
