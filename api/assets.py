"""gridwatch's own static files: the vendored map libraries under ``/static/vendor``."""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_URL = "/static/vendor/"

_SCRIPT = re.compile(r'<script src="/static/vendor/([^"]+)"></script>')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/vendor/([^"]+)"\s*/?>')
_CSS_URL = re.compile(r"""url\(\s*['"]?(?!data:|#|https?:|/)([^'")]+)['"]?\s*\)""")
_TTF_FALLBACK = re.compile(r',\s*url\([^)]*\.ttf\)\s*format\("truetype"\)')
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_FONTS = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}


def mount_static(app: FastAPI) -> None:
    """Serve ``api/static`` at ``/static`` (once; calling it again does nothing)."""
    if not any(getattr(route, "path", None) == "/static" for route in app.routes):
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def self_contained(html: str) -> str:
    """A page whose ``/static/vendor`` scripts and stylesheets are inlined, their images and
    fonts as ``data:`` URIs, so that it renders when saved and opened from disk.

    Fonts come as WOFF2 only (every browser that runs the maps reads it), each file once:
    a stylesheet's later ``@font-face`` rules for a font already inlined (Font Awesome's
    aliases for its older names) are left out. A map page is then about 1 MB.
    """
    html = _SCRIPT.sub(lambda m: f"<script>{_vendor_file(m.group(1)).read_text()}</script>", html)
    return _STYLESHEET.sub(
        lambda m: f"<style>{_inline_css(_vendor_file(m.group(1)))}</style>", html
    )


def _vendor_file(relative: str) -> Path:
    path = (STATIC_DIR / "vendor" / relative).resolve()
    if not path.is_relative_to(STATIC_DIR / "vendor") or not path.is_file():
        raise ValueError(f"{VENDOR_URL}{relative} is not a vendored file")
    return path


def _inline_css(path: Path) -> str:
    css = _TTF_FALLBACK.sub("", path.read_text())
    seen: set[str] = set()

    def first_face(match: re.Match[str]) -> str:
        files = frozenset(_CSS_URL.findall(match.group(0)))
        if files <= seen:
            return ""
        seen.update(files)
        return match.group(0)

    css = _FONT_FACE.sub(first_face, css)

    def data_uri(match: re.Match[str]) -> str:
        target = (path.parent / match.group(1).split("?")[0].split("#")[0]).resolve()
        kind = _FONTS.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "image/png"
        encoded = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:{kind};base64,{encoded})"

    return _CSS_URL.sub(data_uri, css)
