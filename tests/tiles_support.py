"""Small tile archives made in the tests: MBTiles (SQLite, TMS rows) and PMTiles (v3)."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

from PIL import Image, ImageDraw

TILE_ZOOMS = range(10, 14)


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The XYZ (web mercator) tile of a point at zoom ``z``."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tiles_around(lat: float, lon: float, span: float) -> list[tuple[int, int, int]]:
    """(z, x, y) of every tile of ``TILE_ZOOMS`` within ``span`` degrees of a point."""
    out = []
    for z in TILE_ZOOMS:
        x0, y0 = tile_xy(lat + span, lon - span, z)
        x1, y1 = tile_xy(lat - span, lon + span, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def tile_png(z: int, x: int, y: int) -> bytes:
    """A plain 256-pixel tile labelled with its address."""
    image = Image.new("RGB", (256, 256), (226, 236, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 255, 255), outline=(160, 180, 150))
    draw.text((8, 8), f"{z}/{x}/{y}", fill=(90, 110, 80))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def build_mbtiles(path: Path, lat: float, lon: float, span: float = 0.12, fmt: str = "png") -> int:
    """An MBTiles file of labelled tiles around (lat, lon); returns the tile count."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    db.execute(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
        "tile_data BLOB)"
    )
    meta = {
        "name": "test basemap",
        "format": fmt,
        "bounds": f"{lon - span},{lat - span},{lon + span},{lat + span}",
        "minzoom": str(TILE_ZOOMS[0]),
        "maxzoom": str(TILE_ZOOMS[-1]),
        "attribution": "test tiles",
    }
    db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    tiles = tiles_around(lat, lon, span)
    db.executemany(
        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
        [(z, x, 2**z - 1 - y, tile_png(z, x, y)) for z, x, y in tiles],
    )
    db.commit()
    db.close()
    return len(tiles)


def build_pmtiles(path: Path, lat: float, lon: float, span: float = 0.05) -> int:
    """A PMTiles v3 file of the same tiles, written with the pmtiles package."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    tiles = sorted(tiles_around(lat, lon, span), key=lambda t: zxy_to_tileid(*t))
    with path.open("wb") as f:
        writer = Writer(f)
        for z, x, y in tiles:
            writer.write_tile(zxy_to_tileid(z, x, y), tile_png(z, x, y))
        e7 = 10_000_000
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_lon_e7": int((lon - span) * e7),
                "min_lat_e7": int((lat - span) * e7),
                "max_lon_e7": int((lon + span) * e7),
                "max_lat_e7": int((lat + span) * e7),
                "center_zoom": TILE_ZOOMS[0],
                "center_lon_e7": int(lon * e7),
                "center_lat_e7": int(lat * e7),
            },
            {"attribution": "pmtiles test tiles"},
        )
    return len(tiles)
