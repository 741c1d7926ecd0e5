"""The basemap every page draws under its overlays, from the settings.

- none (the default): a plain background, so no page asks any host but the service;
- ``GRIDWATCH_BASEMAP_URL``: an XYZ tile server (an intranet one), in the datum
  ``GRIDWATCH_BASEMAP_CRS`` (``gcj02`` for Amap or Tencent tiles: the overlays are
  shifted to match);
- ``GRIDWATCH_BASEMAP_FILE``: an MBTiles or PMTiles archive of raster tiles that
  gridwatch serves itself at ``/basemap/{z}/{x}/{y}``.

The console, the officer's page and the folium maps all take it from here.
"""

from __future__ import annotations

import gzip
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from api.settings import Settings
from geo.maps.page import Basemap, MapOptions
from grids.errors import InvalidInput, NotFound

router = APIRouter(include_in_schema=False)

TILE_PATH = "/basemap/{z}/{x}/{y}"
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class ArchiveInfo:
    """What a tile archive holds: the image format, zooms and WGS-84 bounds."""

    format: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    attribution: str


class TileArchive:
    """Read tiles from an MBTiles (SQLite, TMS rows) or PMTiles (v3) file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path.suffix.lower() == ".mbtiles":
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self.info = self._mbtiles_info()
        else:
            from pmtiles.reader import MmapSource, Reader

            self._file = path.open("rb")
            self._pmtiles = Reader(MmapSource(self._file))
            self.info = self._pmtiles_info()
        if self.info.format not in MEDIA_TYPES:
            raise InvalidInput(
                f"{path} holds {self.info.format or 'unknown'} tiles; the pages draw raster "
                "tiles only: use an archive of png, jpg or webp tiles"
            )

    def _mbtiles_info(self) -> ArchiveInfo:
        try:
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute(
                "SELECT min(zoom_level), max(zoom_level) FROM tiles"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{self.path} is not an MBTiles file: {exc}") from exc
        bounds = None
        if meta.get("bounds"):
            west, south, east, north = (float(v) for v in meta["bounds"].split(","))
            bounds = (west, south, east, north)
        return ArchiveInfo(
            format=str(meta.get("format", "png")).lower(),
            min_zoom=int(meta.get("minzoom", zooms[0] or 0)),
            max_zoom=int(meta.get("maxzoom", zooms[1] or 19)),
            bounds=bounds,
            attribution=str(meta.get("attribution", "")),
        )

    def _pmtiles_info(self) -> ArchiveInfo:
        from pmtiles.tile import TileType

        header = self._pmtiles.header()
        formats = {TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}
        try:
            metadata = self._pmtiles.metadata()
        except Exception:  # metadata is optional; a broken one must not hide the tiles
            metadata = {}
        return ArchiveInfo(
            format=formats.get(header["tile_type"], str(header["tile_type"])),
            min_zoom=int(header["min_zoom"]),
            max_zoom=int(header["max_zoom"]),
            bounds=(
                header["min_lon_e7"] / 1e7,
                header["min_lat_e7"] / 1e7,
                header["max_lon_e7"] / 1e7,
                header["max_lat_e7"] / 1e7,
            ),
            attribution=str(metadata.get("attribution", "")),
        )

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's image (XYZ numbering), or None when the archive has none there."""
        if not 0 <= x < 2**z or not 0 <= y < 2**z:
            return None
        with self._lock:
            if hasattr(self, "_db"):
                row = self._db.execute(
                    "SELECT tile_data FROM tiles "
                    "WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (z, x, 2**z - 1 - y),
                ).fetchone()
                data = bytes(row[0]) if row else None
            else:
                data = self._pmtiles.get(z, x, y)
        if data is not None and data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data

    def close(self) -> None:
        if hasattr(self, "_db"):
            self._db.close()
        else:
            self._file.close()


def configured_basemap(settings: Settings, archive: TileArchive | None) -> Basemap | None:
    """The basemap of the settings (with the archive that serves the file, if any)."""
    if archive is not None:
        info = archive.info
        return Basemap(
            url=TILE_PATH,
            crs=settings.basemap_crs,
            attribution=settings.basemap_attribution or info.attribution,
            min_zoom=info.min_zoom,
            max_zoom=info.max_zoom,
            bounds=info.bounds,
        )
    if settings.basemap_url:
        return Basemap(
            url=settings.basemap_url,
            crs=settings.basemap_crs,
            attribution=settings.basemap_attribution,
        )
    return None


def page_config(basemap: Basemap | None) -> dict[str, Any]:
    """The basemap as the pages' scripts take it."""
    if basemap is None:
        return {"basemap": None, "crs": "wgs84"}
    return {
        "basemap": {
            "url": basemap.url,
            "attribution": basemap.attribution,
            "minNativeZoom": basemap.min_zoom,
            "maxNativeZoom": basemap.max_zoom,
            "bounds": basemap.bounds,
        },
        "crs": basemap.crs,
    }


def open_archive(settings: Settings) -> TileArchive | None:
    return TileArchive(settings.basemap_file) if settings.basemap_file else None


@router.get(TILE_PATH)
def tile(request: Request, z: int, x: int, y: int) -> Response:
    """A tile of the configured archive; 204 where the archive has none."""
    archive: TileArchive | None = request.app.state.tile_archive
    if archive is None:
        raise NotFound("no basemap file is configured (GRIDWATCH_BASEMAP_FILE)")
    data = archive.tile(z, x, y)
    headers = {"Cache-Control": "public, max-age=86400"}
    if data is None:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MEDIA_TYPES[archive.info.format], headers=headers)


def map_options(request: Request, basemap: str | None = None, lang: str = "zh") -> MapOptions:
    """The options of a folium page: the configured basemap (``basemap=none``: none)."""
    if basemap not in (None, "", "none"):
        raise InvalidInput(
            f"unknown basemap {basemap!r}; use none, or leave it out for the configured one "
            "(GRIDWATCH_BASEMAP_URL or GRIDWATCH_BASEMAP_FILE)"
        )
    configured: Basemap | None = request.app.state.basemap
    return MapOptions(basemap=None if basemap == "none" else configured, lang=lang)
