"""What every request passes first: the store must be initialised, bodies must be small."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grids.db import check_schema
from grids.errors import StoreError

#: Served before the store is ready: they read nothing from it.
OPEN_PATHS = ("/docs", "/redoc", "/openapi.json", "/static/", "/basemap/", "/favicon")


class StoreReadiness:
    """Whether the store holds this gridwatch's schema (``grids.db.check_schema``); checked
    until it does, then remembered (the service never downgrades a store)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.ready = False

    def problem(self) -> str | None:
        """What is wrong with the store (say, "run `gridwatch init`"), or None once ready."""
        if self.ready:
            return None
        try:
            check_schema(self.database_url)
        except StoreError as exc:
            return str(exc)
        self.ready = True
        return None


class StoreGate:
    """503 with what to do for every request (but the docs, static files and tiles) until the
    store is ready."""

    def __init__(self, app: ASGIApp, readiness: StoreReadiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.readiness.ready:
            path = scope.get("path", "")
            if not path.startswith(OPEN_PATHS):
                problem = await run_in_threadpool(self.readiness.problem)
                if problem is not None:
                    response = JSONResponse({"detail": problem}, status_code=503)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a declared Content-Length above the limit, and for a body that grows past it;
    422 (Open311: 400) for a NUL character anywhere but in a multipart body (PostgreSQL
    cannot store it, SQLite would: refused alike on both backends before any route runs).

    Multipart bodies (photos) get ``max_multipart_bytes``; every other body (JSON,
    forms, XML) the small ``max_body_bytes``, so a huge JSON document is refused
    before anything parses it.
    """

    def __init__(self, app: ASGIApp, max_multipart_bytes: int, max_body_bytes: int) -> None:
        self.app = app
        self.max_multipart_bytes = max_multipart_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
        limit = self.max_multipart_bytes if multipart else self.max_body_bytes
        refuse = _refusal(limit, multipart)
        form = headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded")
        if _has_nul(scope.get("query_string", b""), True) or "\x00" in scope.get("path", ""):
            await _nul_refusal(scope)(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refuse(scope, receive, send)
            return
        if multipart:
            await _streamed(self.app, scope, receive, send, limit, refuse)
            return
        # a small body: read it whole and check it before the app sees any of it
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > limit:
                await refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if _has_nul(bytes(body), form):
            await _nul_refusal(scope)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _streamed(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int, refuse: Response
) -> None:
    """A multipart body as it comes; past the limit: the 413, and a disconnect for the app."""
    seen = 0
    refused = started = False

    async def counted() -> Message:
        nonlocal seen, refused
        message = await receive()
        if message["type"] == "http.request" and not refused:
            seen += len(message.get("body", b""))
            if seen > limit:
                refused = True
                if not started:
                    await refuse(scope, receive, send)
                return {"type": "http.disconnect"}
        return message

    async def answer(message: Message) -> None:
        """The app's response, unless the 413 went out instead."""
        nonlocal started
        if refused:
            return
        started = started or message["type"] == "http.response.start"
        await send(message)

    await app(scope, counted, answer)


def _has_nul(data: bytes, url_encoded: bool) -> bool:
    """A NUL character: raw, URL-encoded (%00) or escaped in JSON (\\u0000)."""
    if url_encoded:
        return b"\x00" in data or b"%00" in data
    return b"\x00" in data or b"\\u0000" in data


def _nul_refusal(scope: Scope) -> Response:
    detail = "the request holds a NUL character (\\u0000 or %00); remove it"
    if scope.get("path", "").startswith("/open311/"):  # GeoReport v2's error format
        body: Any = [{"code": 400, "description": detail}]
        if scope["path"].endswith(".xml"):
            xml = "<?xml version='1.0' encoding='utf-8'?><errors><error><code>400</code>"
            xml += f"<description>{detail}</description></error></errors>"
            return Response(xml, status_code=400, media_type="text/xml; charset=utf-8")
        return JSONResponse(body, status_code=400)
    return JSONResponse({"detail": detail}, status_code=422)


def _refusal(limit: int, multipart: bool) -> JSONResponse:
    if multipart:
        detail = f"request body larger than {_size(limit)}; send smaller photos or fewer"
    else:
        detail = (
            f"request body larger than {_size(limit)}, the limit of bodies that are not "
            "multipart (GRIDWATCH_MAX_JSON_MB); send less per request"
        )
    return JSONResponse({"detail": detail}, status_code=413)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"
