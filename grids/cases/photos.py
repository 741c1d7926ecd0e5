"""Photos of cases: checked by content, re-encoded from their pixels, stored under new names.

The type is what the bytes are (Pillow decodes them), never what the file
is called. Only the pixels are written again: EXIF (the camera's GPS and
serial numbers), JPEG comments (COM), XMP, IPTC (APP13), PNG text chunks
(tEXt, zTXt, iTXt, eXIf) and WebP metadata never reach the store. An
embedded colour profile is applied to the pixels (converted to sRGB) and
then dropped, so no profile's text survives either.

A photo is written under a temporary name (``<name>.<pid>.part``) before its
transaction and renamed to its own name after the commit (:meth:`PhotoStore.keep`),
so a file under a photo's name always has its row. What a killed process left
behind is swept at start-up (:meth:`PhotoStore.sweep`): a temporary file whose
row was committed gets its name, any other is removed.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.cases.models import Photo
from grids.errors import InvalidInput
from grids.limits import PHOTO_KIND_MAX, PHOTO_MAX_PIXELS, check_text

FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
Image.MAX_IMAGE_PIXELS = PHOTO_MAX_PIXELS  # Pillow's own guard; store() refuses before it
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PhotoTooLarge(InvalidInput):
    """A photo above the size limit (HTTP 413)."""


class UnsupportedPhoto(InvalidInput):
    """Bytes that are not a JPEG, PNG or WebP image (HTTP 415)."""


def _check_pixels(image: Image.Image, filename: str) -> None:
    """Refuse an image whose header declares more than PHOTO_MAX_PIXELS (a decompression
    bomb: a few hundred KB that would decode to gigabytes)."""
    width, height = image.size
    if width * height > PHOTO_MAX_PIXELS:
        raise PhotoTooLarge(
            f"{filename}: {width} x {height} pixels; photos may have at most "
            f"{PHOTO_MAX_PIXELS / 1e6:.0f} megapixels — send a smaller one"
        )


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

    def pending(self, photo: Photo) -> Path:
        """Where a photo's file waits for its transaction to commit."""
        return self.directory / f"{photo.path}.{os.getpid()}{PENDING}"

    def store(self, data: bytes, filename: str, kind: str) -> Photo:
        """Check, clean and write one photo under a temporary name; returns its (unsaved)
        row. The caller renames the file after the commit (:meth:`keep`), or deletes it if
        the transaction fails (:meth:`discard`)."""
        if len(data) > self.max_bytes:
            raise PhotoTooLarge(
                f"{filename}: {len(data) / 1e6:.1f} MB; photos may be at most "
                f"{self.max_bytes / 1e6:.0f} MB — send a smaller one"
            )
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                _check_pixels(probe, filename)  # from the header, before anything is decoded
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
        photo = Photo(
            kind=kind,
            path=str((folder / f"{uuid.uuid4().hex}{suffix}").relative_to(self.directory)),
            content_type=content_type,
            size=len(out.getvalue()),
            width=clean.width,
            height=clean.height,
        )
        with open(self.pending(photo), "wb") as handle:
            handle.write(out.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        return photo

    def store_all(self, files: list[tuple[str, bytes]], kind: str) -> list[Photo]:
        """Store several photos, all or none (the ones written are removed on a refusal).
        Decoding takes CPU time: call it off the event loop, and before a transaction."""
        self.check_count(len(files))
        check_text(kind, "kind", PHOTO_KIND_MAX)
        stored: list[Photo] = []
        try:
            for name, data in files:
                stored.append(self.store(data, name, kind))
        except BaseException:
            self.discard(stored)
            raise
        return stored

    def keep(self, photos: list[Photo]) -> None:
        """Give the files of photos whose rows were just committed their own names."""
        for photo in photos:
            self.pending(photo).replace(self.path(photo))
        for folder in {self.path(photo).parent for photo in photos}:
            _sync_directory(folder)

    def discard(self, photos: list[Photo]) -> None:
        """Remove the files of photos whose rows were not written."""
        for photo in photos:
            self.pending(photo).unlink(missing_ok=True)

    def sweep(self, session: Session) -> tuple[int, int]:
        """Finish what killed processes left: a temporary file whose row was committed is
        renamed to its own name, any other is removed; the files of live processes (say,
        another worker of the service) are left alone. Returns (renamed, removed)."""
        renamed = removed = 0
        if not self.directory.is_dir():
            return renamed, removed
        for leftover in sorted(self.directory.rglob(f"*{PENDING}")):
            final, _, pid = leftover.name.removesuffix(PENDING).rpartition(".")
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue
            relative = str(leftover.with_name(final).relative_to(self.directory))
            if session.scalar(select(Photo.id).where(Photo.path == relative)) is not None:
                leftover.replace(leftover.with_name(final))
                renamed += 1
            else:
                leftover.unlink(missing_ok=True)
                removed += 1
        return renamed, removed


PENDING = ".part"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _sync_directory(folder: Path) -> None:
    """Make renames in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
