"""The three faces of the case loop as pages, and what every page shares.

- ``/console`` (智网调度台): the dispatch console, for dispatchers and admins;
- ``/officer``: the grid officer's phone page;
- ``/report``: the reporter's phone page.

Each is a static page over the HTTP API, given its user and the basemap in a
small inline configuration. A page opened without a session (the token kept in
the ``gridwatch_token`` cookie) shows the sign-in page, and so does any HTML
page — the maps and reports too — instead of a JSON 401 (:func:`signin_page`).
"""

from __future__ import annotations

import html
import io
import json
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from PIL import Image, ImageDraw

from api.assets import STATIC_DIR
from api.auth import session_user
from api.basemap import page_config
from grids.accounts.users import Forbidden

router = APIRouter(include_in_schema=False)

FACES: dict[str, tuple[str, tuple[str, ...]]] = {
    "console": ("console/index.html", ("dispatcher", "admin")),
    "officer": ("officer/index.html", ("officer", "admin")),
    "report": ("report/index.html", ("reporter",)),
}
HOME = {"dispatcher": "/console", "admin": "/console", "officer": "/officer", "reporter": "/report"}
CONFIG_MARK = "<!-- gridwatch:config -->"


def wants_html(request: Request) -> bool:
    """A browser opening a page (not a script fetching data)."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def signin_page(message: str) -> HTMLResponse:
    """The sign-in page: a token, remembered in the session cookie, then this page again.

    Answered with 200, not 401: the page is the answer a person needs (a browser logs
    every 401 page as an error), while scripts asking for JSON still get their 401.
    """
    page = (STATIC_DIR / "common" / "signin.html").read_text(encoding="utf-8")
    return HTMLResponse(
        page.replace("{{message}}", html.escape(message)), headers={"Cache-Control": "no-store"}
    )


def refusal_page(status: int, message: str) -> HTMLResponse:
    """What a browser opening a page it cannot have sees: the reason as a readable page
    with the same status (a map of a city too young for Gi*, an unknown unit), not JSON."""
    body = (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        "<title>gridwatch</title></head><body>"
        f'<main class="gw-refused"><h1>{status}</h1><p>{html.escape(message)}</p>'
        '<p><a href="/">gridwatch</a></p></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _face(request: Request, name: str) -> HTMLResponse:
    path, roles = FACES[name]
    user = session_user(request)
    if user.role not in roles:
        home = HOME.get(user.role)
        hint = f"; your page is {home}" if home else ""
        raise Forbidden(
            f"this page is for {' and '.join(roles)} users, you are a {user.role}{hint}"
        )
    config: dict[str, Any] = {
        "user": {"name": user.name, "role": user.role},
        **page_config(request.app.state.basemap),
    }
    data = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    script = f"<script>window.GRIDWATCH = {data};</script>"
    page = (STATIC_DIR / path).read_text(encoding="utf-8").replace(CONFIG_MARK, script)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console")
def console(request: Request) -> HTMLResponse:
    return _face(request, "console")


@router.get("/officer")
def officer(request: Request) -> HTMLResponse:
    return _face(request, "officer")


@router.get("/report")
def report(request: Request) -> HTMLResponse:
    return _face(request, "report")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(
        _favicon(), media_type="image/x-icon", headers={"Cache-Control": "public, max-age=604800"}
    )


@lru_cache(maxsize=1)
def _favicon() -> bytes:
    """A grid of four cells with one marked: drawn once, no binary in the repository."""
    image = Image.new("RGBA", (32, 32), (18, 50, 77, 255))
    draw = ImageDraw.Draw(image)
    for x0, y0 in ((4, 4), (17, 4), (4, 17), (17, 17)):
        colour = (217, 119, 6, 255) if (x0, y0) == (17, 4) else (207, 227, 245, 255)
        draw.rectangle((x0, y0, x0 + 10, y0 + 10), fill=colour)
    out = io.BytesIO()
    image.save(out, format="ICO", sizes=[(32, 32), (16, 16)])
    return out.getvalue()
