"""Issue 9, finding 7: a served photo carries its pixels and nothing else — no JPEG
comment, XMP, IPTC, ICC profile text, PNG text chunk or WebP metadata survives."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv

SECRET = "owner 13800000000 home Nancheng"


def jpeg(**save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (30, 140, 90)).save(out, format="JPEG", **save)
    return out.getvalue()


def with_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    """A JPEG with one more segment right after its SOI marker."""
    assert data[:2] == b"\xff\xd8"
    return (
        data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    )


def xmp_packet(text: str = SECRET) -> bytes:
    return (
        b"http://ns.adobe.com/xap/1.0/\x00"
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator>" + text.encode() + b"</dc:creator></rdf:Description></rdf:RDF>"
        b"</x:xmpmeta>"
    )


def iptc_block(text: str = SECRET) -> bytes:
    caption = text.encode()
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption  # 2:120 Caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    return b"Photoshop 3.0\x00" + resource + (b"\x00" if len(iptc) % 2 else b"")


def icc_with_text() -> bytes:
    """An sRGB profile that carries the planted text after its tags (a "custom" profile)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    body = profile[4:] + SECRET.encode()
    return struct.pack(">I", len(body) + 4) + body


def png(info: PngImagePlugin.PngInfo | None = None, **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (40, 30), (200, 10, 10, 128)).save(out, format="PNG", pnginfo=info, **save)
    return out.getvalue()


def png_chunk(data: bytes, kind: bytes, payload: bytes) -> bytes:
    """A PNG with one more chunk before IEND."""
    chunk = struct.pack(">I", len(payload)) + kind + payload
    chunk += struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    return data[:-12] + chunk + data[-12:]


def png_text(kind: str, text: str = SECRET) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    if kind == "tEXt":
        info.add_text("Author", text)
    elif kind == "zTXt":
        info.add_text("Comment", text, zip=True)
    else:
        info.add_itxt("Description", text, lang="zh", tkey="说明")
    return info


def webp(**save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 10, 200)).save(out, format="WEBP", **save)
    return out.getvalue()


def exif_text() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = SECRET  # ImageDescription
    return exif


PHOTOS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "jpeg COM": ("image/jpeg", lambda: jpeg(comment=SECRET)),
    "jpeg XMP (APP1)": ("image/jpeg", lambda: with_segment(jpeg(), 0xE1, xmp_packet())),
    "jpeg IPTC (APP13)": ("image/jpeg", lambda: with_segment(jpeg(), 0xED, iptc_block())),
    "jpeg ICC (APP2)": ("image/jpeg", lambda: jpeg(icc_profile=icc_with_text())),
    "jpeg APP15": ("image/jpeg", lambda: with_segment(jpeg(), 0xEF, SECRET.encode())),
    "png tEXt": ("image/png", lambda: png(png_text("tEXt"))),
    "png zTXt": ("image/png", lambda: png(png_text("zTXt"))),
    "png iTXt": ("image/png", lambda: png(png_text("iTXt"))),
    "png iCCP": ("image/png", lambda: png(icc_profile=icc_with_text())),
    "png eXIf": ("image/png", lambda: png(exif=exif_text())),
    "png private chunk": ("image/png", lambda: png_chunk(png(), b"prVt", SECRET.encode())),
    "webp XMP": ("image/webp", lambda: webp(xmp=xmp_packet()[29:])),
    "webp EXIF": ("image/webp", lambda: webp(exif=exif_text())),
    "webp ICC": ("image/webp", lambda: webp(icc_profile=icc_with_text())),
}


def jpeg_markers(data: bytes) -> set[int]:
    """The markers of a JPEG's segments up to its scan."""
    markers, at = set(), 2
    while at < len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        markers.add(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return markers


def png_chunks(data: bytes) -> set[bytes]:
    kinds, at = set(), 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        kinds.add(data[at + 4 : at + 8])
        at += 12 + length
    return kinds


def webp_chunks(data: bytes) -> set[bytes]:
    kinds, at = set(), 12
    while at < len(data):
        length = struct.unpack("<I", data[at + 4 : at + 8])[0]
        kinds.add(data[at : at + 4])
        at += 8 + length + (length % 2)
    return kinds


def plain_structure(content_type: str, data: bytes) -> bool:
    """Only the segments a picture needs: JFIF, tables, frame and scan; IHDR, PLTE, tRNS,
    IDAT, IEND; VP8/VP8L/VP8X/ALPH."""
    if content_type == "image/jpeg":
        allowed = {0xD8, 0xE0, 0xDB, 0xC4, 0xDD, 0xDA} | set(range(0xC0, 0xD0))
        return jpeg_markers(data) <= allowed
    if content_type == "image/png":
        return png_chunks(data) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    return webp_chunks(data) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


def carries(data: bytes, text: str) -> bool:
    return text.encode() in data or text.encode("utf-16-be") in data


@pytest.mark.parametrize("kind", sorted(PHOTOS))
def test_served_photo_has_no_metadata(case_env: CaseEnv, kind: str) -> None:
    content_type, build = PHOTOS[kind]
    upload = build()
    if kind not in ("png zTXt", "png iCCP", "webp EXIF"):  # compressed or packed: not verbatim
        assert carries(upload, SECRET), kind  # the upload does carry the planted text
    assert not plain_structure(content_type, upload), kind
    response = case_env.client.post(
        "/api/v1/cases",
        data={
            "report": json.dumps({"lat": DEMO_LAT, "lon": DEMO_LON, "category": "billboard_hazard"})
        },
        files=[("photos", ("p.bin", upload, content_type))],
        headers=case_env.headers("citizen"),
    )
    assert response.status_code == 201, response.text
    url = response.json()["photos"][0]["url"].split("testserver")[-1]
    served = case_env.client.get(url, headers=case_env.headers("officer"))
    assert served.status_code == 200 and served.headers["content-type"] == content_type
    assert not carries(served.content, SECRET)
    assert plain_structure(content_type, served.content), kind
    image = Image.open(io.BytesIO(served.content))
    assert image.size == Image.open(io.BytesIO(upload)).size
    assert "icc_profile" not in image.info and "comment" not in image.info


def test_a_colour_profile_is_applied_before_it_is_dropped(case_env: CaseEnv) -> None:
    """A profile is applied to the pixels, then dropped; the colours stay."""
    from grids.cases.photos import pixels_only

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    image = Image.new("RGB", (4, 4), (120, 60, 30))
    image.info["icc_profile"] = srgb.tobytes()
    clean = pixels_only(image)
    assert clean.info == {} and clean.getpixel((0, 0)) == pytest.approx((120, 60, 30), abs=2)
