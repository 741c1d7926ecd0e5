"""Photos of cases: checked by content, re-encoded without EXIF, stored under generated names.

The type is what the bytes are (Pillow decodes them), never what the file
is called. Re-encoding drops every metadata block, so the camera's GPS and
serial numbers never reach the store (the case already has its location).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from grids.case_models import Photo
from grids.errors import InvalidInput

FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs


class PhotoTooLarge(InvalidInput):
    """A photo above the size limit (HTTP 413)."""


class UnsupportedPhoto(InvalidInput):
    """Bytes that are not a JPEG, PNG or WebP image (HTTP 415)."""


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_count: int = 5


def check_count(count: int, limits: PhotoLimits) -> None:
    if count > limits.max_count:
        raise InvalidInput(f"{count} photos sent; at most {limits.max_count} per report")


def store_photo(
    data: bytes, filename: str, directory: Path, limits: PhotoLimits, kind: str
) -> Photo:
    """Check, clean and write one photo; returns its (unsaved) row. The caller deletes the
    file if the transaction fails (see :func:`discard`)."""
    if len(data) > limits.max_bytes:
        raise PhotoTooLarge(
            f"{filename}: {len(data) / 1e6:.1f} MB; photos may be at most "
            f"{limits.max_bytes / 1e6:.0f} MB — send a smaller one"
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        if fmt not in FORMATS:
            raise UnsupportedPhoto(
                f"{filename}: {fmt} images are not accepted; send JPEG, PNG or WebP"
            )
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            clean = ImageOps.exif_transpose(image)  # keep the picture upright, then drop EXIF
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnsupportedPhoto(
            f"{filename}: not a JPEG, PNG or WebP image (checked by content, not by name)"
        ) from exc
    content_type, suffix = FORMATS[fmt]
    if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
        clean = clean.convert("RGB")
    out = io.BytesIO()
    clean.save(out, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    today = dt.datetime.now(dt.UTC)
    folder = directory / f"{today:%Y}" / f"{today:%m}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as handle:
        handle.write(out.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    return Photo(
        kind=kind,
        path=str(path.relative_to(directory)),
        content_type=content_type,
        size=len(out.getvalue()),
        width=clean.width,
        height=clean.height,
    )


def discard(photos: list[Photo], directory: Path) -> None:
    """Remove the files of photos whose case was not written."""
    for photo in photos:
        (directory / photo.path).unlink(missing_ok=True)
