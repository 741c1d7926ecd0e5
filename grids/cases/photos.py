"""Photos of cases: checked by content, re-encoded from their pixels, stored under new names.

The type is what the bytes are (Pillow decodes them), never what the file
is called. Only the pixels are written again: EXIF (the camera's GPS and
serial numbers), JPEG comments (COM), XMP, IPTC (APP13), PNG text chunks
(tEXt, zTXt, iTXt, eXIf) and WebP metadata never reach the store. An
embedded colour profile is applied to the pixels (converted to sRGB) and
then dropped, so no profile's text survives either.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from grids.cases.models import Photo
from grids.errors import InvalidInput

FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PhotoTooLarge(InvalidInput):
    """A photo above the size limit (HTTP 413)."""


class UnsupportedPhoto(InvalidInput):
    """Bytes that are not a JPEG, PNG or WebP image (HTTP 415)."""


@dataclass(frozen=True)
class PhotoStore:
    """Where photos live and how large they may be; files are named by the store, not the sender."""

    directory: Path
    max_bytes: int = 10 * 1024 * 1024
    max_count: int = 5

    def check_count(self, count: int) -> None:
        if count > self.max_count:
            raise InvalidInput(f"{count} photos sent; at most {self.max_count} per report")

    def path(self, photo: Photo) -> Path:
        return self.directory / photo.path

    def store(self, data: bytes, filename: str, kind: str) -> Photo:
        """Check, clean and write one photo; returns its (unsaved) row. The caller deletes
        the file if the transaction fails (see :meth:`discard`)."""
        if len(data) > self.max_bytes:
            raise PhotoTooLarge(
                f"{filename}: {len(data) / 1e6:.1f} MB; photos may be at most "
                f"{self.max_bytes / 1e6:.0f} MB — send a smaller one"
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
                clean = pixels_only(ImageOps.exif_transpose(image))  # upright, no metadata
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
        folder = self.directory / f"{today:%Y}" / f"{today:%m}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}{suffix}"
        with open(path, "wb") as handle:
            handle.write(out.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        return Photo(
            kind=kind,
            path=str(path.relative_to(self.directory)),
            content_type=content_type,
            size=len(out.getvalue()),
            width=clean.width,
            height=clean.height,
        )

    def store_all(self, files: list[tuple[str, bytes]], kind: str) -> list[Photo]:
        """Store several photos, all or none (the ones written are removed on a refusal)."""
        self.check_count(len(files))
        stored: list[Photo] = []
        try:
            for name, data in files:
                stored.append(self.store(data, name, kind))
        except BaseException:
            self.discard(stored)
            raise
        return stored

    def discard(self, photos: list[Photo]) -> None:
        """Remove the files of photos whose case was not written."""
        for photo in photos:
            self.path(photo).unlink(missing_ok=True)


def pixels_only(image: Image.Image) -> Image.Image:
    """The picture without any of its metadata: colours in sRGB, the transparency kept.

    Pillow writes back some of what it read (a JPEG's comment, a PNG's ICC profile), so
    the saved image carries a fresh ``info`` holding nothing but transparency.
    """
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels are kept as they are, the profile dropped
    transparency = image.info.get("transparency")
    image = image.copy()
    image.info = {} if transparency is None else {"transparency": transparency}
    return image
