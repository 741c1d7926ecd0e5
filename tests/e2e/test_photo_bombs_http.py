"""Image bombs over real HTTP: refused from the header, before decoding, with the served
process's memory bounded (issue 10, item 3)."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from grids.limits import PHOTO_MAX_PIXELS
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import jpeg_with_gps, make_users
from tests.conftest import Store
from tests.e2e.test_case_loop_http import _two_grids, auth, live_settings, serve

pytestmark = pytest.mark.e2e
SIDE = 10_000  # 100 megapixels: 100 MB as greyscale once decoded, 300+ MB as RGB


def png_bomb(side: int = SIDE) -> bytes:
    """A valid greyscale PNG of side x side black pixels, compressed to a few hundred KB
    (built row by row, so the test itself never holds the decoded image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one byte per pixel
    parts = [compressor.compress(row * 100) for _ in range(side // 100)]
    idat = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


class PeakRss:
    """The largest resident set size of this process (the server runs in a thread of it)
    while the block runs, sampled every few milliseconds."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = png_bomb()
    assert len(data) < 1_000_000 and SIDE * SIDE > PHOTO_MAX_PIXELS
    return data


@pytest.fixture(scope="module")
def live_city(city_store: Store, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings = live_settings(city_store, tmp_path_factory.mktemp("bombs"), "bomb-secret")
    with serve(settings) as base:
        yield base, make_users(city_store, *_two_grids(base)), settings


def _report_with(http: httpx.Client, tokens: dict[str, str], photos: list[bytes]) -> httpx.Response:
    return http.post(
        "/api/v1/cases",
        data={
            "report": json.dumps({"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"})
        },
        files=[("photos", (f"p{i}.png", p, "image/png")) for i, p in enumerate(photos)],
        headers=auth(tokens, "citizen"),
    )


def test_image_bombs_are_refused_with_bounded_memory(live_city, bomb: bytes) -> None:  # type: ignore[no-untyped-def]
    """Four reports of five bombs each, at once: every one a 413 naming the pixel limit,
    the server's memory growing by far less than one decoded bomb (100 MB)."""
    base, tokens, settings = live_city
    with httpx.Client(base_url=base, timeout=120) as http:
        with PeakRss() as rss, ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: _report_with(http, tokens, [bomb] * 5), range(4)))
        for answer in answers:
            assert answer.status_code == 413, answer.text
            assert "megapixels" in answer.json()["detail"]
        assert rss.growth_mb < 60, f"server memory grew by {rss.growth_mb:.0f} MB"
        case = http.post(
            "/api/v1/cases",
            json={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"},
            headers=auth(tokens, "citizen"),
        ).json()
        with PeakRss() as rss:
            added = http.post(
                f"/api/v1/cases/{case['id']}/photos",
                files=[("photos", ("bomb.png", bomb, "image/png"))],
                headers=auth(tokens, "officer"),
            )
        assert added.status_code == 413, added.text
        assert rss.growth_mb < 60, f"server memory grew by {rss.growth_mb:.0f} MB"
    assert not list(Path(settings.photo_dir).rglob("*.png"))  # nothing written


def test_served_photos_are_not_sniffed(live_city) -> None:  # type: ignore[no-untyped-def]
    base, tokens, _ = live_city
    with httpx.Client(base_url=base, timeout=30) as http:
        created = http.post(
            "/api/v1/cases",
            data={
                "report": json.dumps(
                    {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"}
                )
            },
            files=[("photos", ("p.jpg", jpeg_with_gps(), "image/jpeg"))],
            headers=auth(tokens, "citizen"),
        )
        assert created.status_code == 201, created.text
        url = created.json()["photos"][0]["url"]
        photo = http.get(url, headers=auth(tokens, "officer"))
        assert photo.status_code == 200
        assert photo.headers["content-type"] == "image/jpeg"
        assert photo.headers["x-content-type-options"] == "nosniff"
