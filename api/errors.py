"""Domain errors to HTTP statuses: the one mapping of the service.

Every error is answered in JSON, ``{"detail": ...}``: the domain's with their status, the
store's "cannot be reached right now" (either backend) with 503 and ``Retry-After``, and
anything unforeseen with a 500 that keeps the connection open (the traceback goes to the
log, never to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.pages import refusal_page, signin_page, wants_html
from geo.errors import GeoInputError
from grids.accounts.users import Forbidden, NotAuthenticated
from grids.cases.intake import IdempotencyConflict, OutsideServiceArea
from grids.cases.lifecycle import Conflict, VersionRequired
from grids.cases.photos import PhotoTooLarge, UnsupportedPhoto
from grids.db import STORE_UNREACHABLE
from grids.errors import (
    GridwatchError,
    InvalidInput,
    NotFound,
    NotReady,
    StoreError,
    StoreNotInitialised,
)

log = logging.getLogger("gridwatch")

RETRY_AFTER_S = 2
"""What a 503 of an unreachable store tells clients to wait before they retry."""
STORE_DOWN = (
    "the store cannot be reached right now; nothing of this request was saved. "
    f"Retry in {RETRY_AFTER_S} s (with the same Idempotency-Key, a report is never made twice)"
)

STATUS: dict[type[Exception], int] = {
    GeoInputError: 422,
    InvalidInput: 422,
    OutsideServiceArea: 422,
    IdempotencyConflict: 422,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    VersionRequired: 428,
    PhotoTooLarge: 413,
    UnsupportedPhoto: 415,
    NotReady: 503,
    StoreNotInitialised: 503,
    StoreError: 500,
    **dict.fromkeys(STORE_UNREACHABLE, 503),
}


def status_for(exc: Exception) -> int:
    """The status of the most specific class in ``STATUS`` the error belongs to."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(request: Request, exc: Exception) -> Response:
    """The answer to an error (see the module docstring)."""
    status = status_for(exc)
    if isinstance(exc, STORE_UNREACHABLE):
        log.warning("store unreachable: %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": STORE_DOWN}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    if status == 500 and not isinstance(exc, GridwatchError):
        log.error("unhandled error: %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)
    if status in (401, 403) and wants_html(request):
        return signin_page(str(exc))
    if status in (404, 409, 422) and wants_html(request):
        return refusal_page(status, str(exc))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"detail": str(exc), **getattr(exc, "body", {})}
    return JSONResponse(body, status_code=status, headers=headers)


class LastResort:
    """Answers what no handler took (an unforeseen exception) with :func:`error_response`
    instead of letting it reach the server, which would send plain text and close the
    keep-alive connection. An error after the response started can only be logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            await error_response(Request(scope), exc)(scope, receive, send)


def install(app: FastAPI) -> None:
    """Answer every error as :func:`error_response` says; a browser opening a page it may
    not see gets the sign-in page instead."""

    async def handler(request: Request, exc: Exception) -> Response:
        return error_response(request, exc)

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:  # Allow: every method of every route of this path
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return await http_exception_handler(request, exc)

    async def unstorable(_request: Request, exc: Exception) -> JSONResponse:
        """A value the store refused (the limits of grids.limits should have caught it):
        the client's input, never a server error; the statement stays in the log."""
        log.warning("store refused a value: %s", exc)
        detail = "a value cannot be stored: too long, out of range or with a NUL character"
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(GeoInputError, handler)
    app.add_exception_handler(GridwatchError, handler)
    for store_error in STORE_UNREACHABLE:
        app.add_exception_handler(store_error, handler)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_middleware(LastResort)
    app.add_exception_handler(StarletteHTTPException, http_error)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this path (Starlette names only the first route
    that matched the path, e.g. GET for ``/cases/1/history`` though POST works there too)."""
    methods: set[str] = set()
    scope = {**request.scope, "method": "GET"}
    routes: list[Any] = list(request.app.routes)
    while routes:
        route = routes.pop()
        if hasattr(route, "effective_candidates"):  # FastAPI's included routers
            routes.extend(route.effective_candidates())
            continue
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(scope)[0] != Match.NONE:
            methods |= set(route_methods) | ({"HEAD"} if "GET" in route_methods else set())
    return sorted(methods)


_SOURCES = ("query", "path", "body", "header", "cookie")


def validation_message(errors: Any) -> str:
    """FastAPI's list of validation errors as one line naming each field and what to fix,
    e.g. ``lat: Input should be a valid number ... (got 'abc')``."""
    parts = []
    for error in errors:
        loc = list(error.get("loc", ()))
        source = loc.pop(0) if loc and loc[0] in _SOURCES else None
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        where = where or source or "request"
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            parts.append(f"the body is not valid JSON ({reason})")
            continue
        given = error.get("input")
        shown = (
            f" (got {given!r})"
            if isinstance(given, str | int | float) and error.get("type") != "missing"
            else ""
        )
        parts.append(f"{where}: {error.get('msg', 'invalid')}{shown}")
    return "; ".join(parts)
