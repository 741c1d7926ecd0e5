"""A reporter's identity reaches no one but admins: names, phone numbers and app user ids
planted through every door (the JSON API as a citizen and as an app, Open311, a photo's
EXIF) appear in no response to an officer, dispatcher, planner, patrol leader or the
public — JSON, XML, GeoJSON, HTML, CSV, GPX or photo — over real HTTP."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grids.accounts.users import create_api_key, create_user
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import make_users
from tests.conftest import Store
from tests.e2e.test_case_loop_http import _two_grids, auth, live_settings, serve

pytestmark = pytest.mark.e2e

PLANTED = {
    "citizen's name": "隐私甲乙丙",
    "citizen's phone": "13987650001",
    "app user's name": "隐私丁戊己",
    "app user's phone": "13987650002",
    "app user's id": "wx-privacy-0003",
    "Open311 first name": "Privatefirst",
    "Open311 last name": "Privatelast",
    "Open311 phone": "13987650004",
    "Open311 email": "private.person0005@example.com",
    "photo's EXIF artist": "13987650006",
}
VIEWERS = ("officer", "stranger", "dispatcher", "far_dispatcher", "planner", "patrol_leader")


@dataclass
class Recorder:
    """Keeps every response of the served app: method, path, who asked, status, body."""

    app: ASGIApp
    seen: list[tuple[str, str, str, int, bytes]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, chunks = [0], []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        who = dict(scope["headers"]).get(b"authorization", b"").decode()
        query = scope["query_string"].decode()
        path = scope["path"] + (f"?{query}" if query else "")
        self.seen.append((scope["method"], path, who, status[0], b"".join(chunks)))


def forms(value: str) -> list[str]:
    """The ways a value can appear in a body: as is, JSON-escaped, lower case."""
    return [value, json.dumps(value)[1:-1], value.lower()]


def leaks(body: bytes) -> list[str]:
    text = body.decode("utf-8", errors="ignore")
    texts = (text, html.unescape(text), text.lower())
    return [
        what for what, value in PLANTED.items() if any(f in t for f in forms(value) for t in texts)
    ]


def jpeg_with_artist(artist: str) -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x013B] = artist  # Artist
    exif[0x010E] = artist  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def served(
    city_store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, Recorder, dict[str, str], str]]:
    settings = live_settings(city_store, tmp_path_factory.mktemp("privacy"), "privacy-secret")
    recorders: list[Recorder] = []

    def record(app: ASGIApp) -> ASGIApp:
        recorders.append(Recorder(app))
        return recorders[-1]

    with serve(settings, record) as base, httpx.Client(base_url=base, timeout=120) as http:
        demo_grid, other = _two_grids(base)
        tokens = make_users(city_store, demo_grid, other)
        town = demo_grid.split("-")[0]
        with city_store.transaction() as session:
            tokens["patrol_leader"] = create_user(session, "pl", "patrol_leader", scope_code=town)[
                1
            ]
            tokens["app"] = create_user(session, "微信小程序", "reporter", app=True)[1]
            tokens["open311"] = create_api_key(session, "citizen-app")
        yield http, recorders[0], tokens, town


def plant(http: httpx.Client, tokens: dict[str, str]) -> list[int]:
    """Reports through every door, each carrying planted contact data; then round the loop."""
    citizen = {
        "lat": DEMO_LAT,
        "lon": DEMO_LON,
        "category": "fire_exit_blocked",
        "reporter": {"name": PLANTED["citizen's name"], "phone": PLANTED["citizen's phone"]},
    }
    photo = jpeg_with_artist(PLANTED["photo's EXIF artist"])
    app_user = {
        "id": PLANTED["app user's id"],
        "name": PLANTED["app user's name"],
        "phone": PLANTED["app user's phone"],
    }
    open311 = {
        "api_key": tokens["open311"],
        "service_code": "garbage_piled",
        "lat": str(DEMO_LAT - 0.0003),
        "long": str(DEMO_LON),
        "first_name": PLANTED["Open311 first name"],
        "last_name": PLANTED["Open311 last name"],
        "phone": PLANTED["Open311 phone"],
        "email": PLANTED["Open311 email"],
    }
    doors: list[tuple[str, str | None, dict[str, Any]]] = [
        (
            "/api/v1/cases",
            "citizen",
            {
                "data": {"report": json.dumps(citizen)},
                "files": [("photos", ("p.jpg", photo, "image/jpeg"))],
            },
        ),
        (
            "/api/v1/cases",
            "app",
            {"json": citizen | {"category": "garbage_piled", "reporter": app_user}},
        ),
        ("/open311/v2/requests.json", None, {"data": open311}),
    ]
    ids = []
    for path, who, body in doors:
        response = http.post(path, headers=auth(tokens, who) if who else {}, **body)
        assert response.status_code == 201, response.text
        made = response.json()
        ids.append(int(made["id"] if isinstance(made, dict) else made[0]["service_request_id"]))
    for case_id in ids:  # verified (rewards), then the first one closed
        for action, body in (
            ("acknowledge", {}),
            ("verify", {"valid": True, "lat": DEMO_LAT, "lon": DEMO_LON}),
        ):
            done = http.post(
                f"/api/v1/cases/{case_id}/{action}", json=body, headers=auth(tokens, "officer")
            )
            assert done.status_code == 200, done.text
    for who, action, body in (
        ("officer", "start", {}),
        ("officer", "resolve", {"note": "已清理"}),
        ("dispatcher", "close", {}),
    ):
        done = http.post(f"/api/v1/cases/{ids[0]}/{action}", json=body, headers=auth(tokens, who))
        assert done.status_code == 200, done.text
    return ids


def crawl(
    http: httpx.Client, recorder: Recorder, tokens: dict[str, str], ids: list[int], town: str
) -> None:
    """Every GET route of the service (and the plans in every format) as every viewer."""
    spec = http.get("/openapi.json").json()
    case = http.get(f"/api/v1/cases/{ids[0]}", headers=auth(tokens, "admin")).json()
    photo = case["photos"][0]["id"]
    today = dt.date.today().isoformat()
    values: dict[str, list[str]] = {
        "case_id": [str(i) for i in ids],
        "request_id": [str(i) for i in ids],
        "token": [str(ids[-1])],
        "photo_id": [str(photo)],
        "fmt": ["json", "xml"],
        "code": ["garbage_piled"],
        "period": ["day", "week", "month"],
        "kind": ["hotspots", "emerging", "public"],
    }
    query = {
        "lat": str(DEMO_LAT),
        "lon": str(DEMO_LON),
        "category": "garbage_piled",
        "team": "T-" + town,
        "date": today,
    }
    required = {
        path: {p["name"] for p in ops["get"].get("parameters", []) if p.get("required")}
        for path, ops in spec["paths"].items()
        if "get" in ops
    }
    required |= {"/": set(), "/console": set(), "/maps/data/{kind}.geojson": set()}
    streams = {path for path in required if path.endswith("/events")}
    extra = {
        "/api/v1/summaries": [{"format": f, "unit": town} for f in ("json", "csv")],
        "/public/maps/hotspots": [{"format": f} for f in ("html", "geojson")],
        "/open311/v2/requests.{fmt}": [{}, {"service_request_id": ",".join(map(str, ids))}],
    }
    for who in (*VIEWERS, None):
        headers = auth(tokens, who) if who else {}
        for template, names in required.items():
            for path in expand(template, values):
                if template in streams:
                    recorder.seen.append(read_stream(http, path, headers))
                    continue
                for params in extra.get(template, [{}]):
                    given = {n: query[n] for n in names if n in query}
                    http.get(path, params=given | params, headers=headers)
        if who == "patrol_leader":
            for fmt in ("json", "geojson", "gpx", "html"):
                http.post(
                    "/api/v1/patrols/plans",
                    json={"unit": town, "format": fmt, "time_limit_s": 1, "teams": [team()]},
                    headers=headers,
                )


def read_stream(
    http: httpx.Client, path: str, headers: dict[str, str]
) -> tuple[str, str, str, int, bytes]:
    """An event stream replayed from its first event, read until it falls quiet: the stream
    itself never ends, so the recorder could not keep it."""
    chunks: list[bytes] = []
    replay = headers | {"Last-Event-ID": "0"}
    with http.stream("GET", path, headers=replay, timeout=httpx.Timeout(5.0, read=1.5)) as got:
        try:
            for chunk in got.iter_raw():
                chunks.append(chunk)
        except httpx.ReadTimeout:
            pass
    return ("GET", path, headers.get("Authorization", ""), got.status_code, b"".join(chunks))


def expand(template: str, values: dict[str, list[str]]) -> list[str]:
    """The paths a template stands for, one per combination of its parameters' values."""
    paths = [template]
    for name, options in values.items():
        slot = "{" + name + "}"
        paths = [p.replace(slot, v) for p in paths for v in options] if slot in template else paths
    return paths


def team() -> dict[str, Any]:
    shift = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return {
        "name": "一队",
        "start": {"lat": DEMO_LAT, "lon": DEMO_LON},
        "shift_start": shift,
        "shift_minutes": 120,
    }


def test_no_staff_or_public_response_names_a_reporter(served) -> None:  # type: ignore[no-untyped-def]
    http, recorder, tokens, town = served
    ids = plant(http, tokens)
    admin = http.get(f"/api/v1/cases/{ids[1]}", headers=auth(tokens, "admin")).json()
    assert admin["reporter"]["phone"] == PLANTED["app user's phone"]  # planted, kept for admins
    crawl(http, recorder, tokens, ids, town)
    viewers = {f"Bearer {tokens[who]}": who for who in VIEWERS} | {"": "the public"}
    looked = [(m, p, viewers[w], s, b) for m, p, w, s, b in recorder.seen if w in viewers]
    found = [(who, m, p, s, leaks(b)) for m, p, who, s, b in looked if leaks(b)]
    assert not found, found
    answered = {(who, p.split("?")[0]) for _, p, who, s, _ in looked if s == 200}
    for who, path in (
        ("officer", f"/api/v1/cases/{ids[0]}"),
        ("officer", f"/api/v1/cases/{ids[0]}/photos/{admin_photo(http, tokens, ids[0])}"),
        ("dispatcher", f"/api/v1/cases/{ids[2]}/history"),
        ("planner", "/api/v1/cases"),
        ("dispatcher", "/api/v1/summaries"),
        ("the public", "/open311/v2/requests.xml"),
        ("the public", "/public/maps/hotspots"),
        ("patrol_leader", "/api/v1/patrols/plans"),
        ("dispatcher", "/api/v1/events"),
    ):
        assert (who, path) in answered, (who, path)  # the search looked at real answers
    assert len(looked) > 300
    stream = next(b for _, p, who, _, b in looked if p == "/api/v1/events" and who == "dispatcher")
    assert b"event: case.created" in stream  # the replayed stream held the planted cases


def admin_photo(http: httpx.Client, tokens: dict[str, str], case_id: int) -> int:
    case = http.get(f"/api/v1/cases/{case_id}", headers=auth(tokens, "admin")).json()
    return int(case["photos"][0]["id"])
