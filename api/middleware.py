"""What every request passes first: the store must be initialised, bodies must be small."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
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
    """413 for a declared Content-Length above the limit, and for a body that grows past it.

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
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refuse(scope, receive, send)
            return
        seen = 0
        refused = started = False

        async def counted() -> Message:
            """The body as it comes; past the limit: the 413, and a disconnect for the app."""
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

        await self.app(scope, counted, answer)


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
