"""The API's documentation pages: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's own pages load their scripts from a CDN and are blank on an intranet;
these load the same libraries from gridwatch's ``/static/vendor/`` (see
``api/static/vendor/README.md``), so they work with no internet at all. Their
Content-Security-Policy keeps them on the service: ReDoc's bundle hard-codes
its logo from cdn.redoc.ly, which the browser then never asks for (the logo
hides itself).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER = "/static/vendor/swagger-ui-dist-5.35.0"
REDOC = "/static/vendor/redoc-2.5.4"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
#: Only the service itself (and data:/blob: URLs the libraries make) may be asked.
OFFLINE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = OFFLINE_CSP
    return page


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} · API",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
    )
    return _offline(page)


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} · API",
        redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        with_google_fonts=False,
    )
    return _offline(page)
