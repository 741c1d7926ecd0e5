"""The case loop through the API (test client), on both backends."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from grids.cases.models import Case, CaseEvent, Photo, RewardEntry
from grids.community.models import PointsEntry
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv


def count(env: CaseEnv, model: type) -> int:
    with env.store.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_report_is_routed_at_once_and_durable(case_env: CaseEnv) -> None:
    case = case_env.report()
    assert case["status"] == "routed"
    routing = case["routing"]
    assert routing["grid"]["code"] == case_env.demo_grid
    assert routing["town"]["name"] == "南城街道"
    assert routing["assignee"]["kind"] == "officer" and routing["officer"]["name"]
    assert routing["department"]["code"] and routing["reasons"]
    assert case["deadlines"]["acknowledge"] < case["deadlines"]["close"]
    again = case_env.client.get(
        f"/api/v1/cases/{case['id']}", headers=case_env.headers("officer")
    ).json()
    assert again["routing"] == case["routing"] and again["status"] == "routed"
    with case_env.store.sessions() as session:  # committed before the response
        stored = session.get(Case, case["id"])
        assert stored is not None and stored.status == "routed"
        assert [
            e.action
            for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == stored.id))
        ] == [
            "report",
            "route",
        ]


def test_full_loop_with_reward_history_and_reporter_view(case_env: CaseEnv) -> None:
    case = case_env.report(
        category="fire_exit_blocked", reporter={"id": "wx-loop", "phone": "13800002222"}
    )
    for action, body in [
        ("acknowledge", {}),
        ("verify", {"valid": True, "lat": DEMO_LAT + 0.0001, "lon": DEMO_LON, "note": "现场核实"}),
        ("start", {}),
        ("resolve", {"note": "已清理通道"}),
    ]:
        response = case_env.act(case, action, **body)
        assert response.status_code == 200, response.text
        case = response.json()
    case = case_env.act(case, "close", who="dispatcher").json()
    assert case["status"] == "closed" and case["version"] == 6
    history = case_env.client.get(
        f"/api/v1/cases/{case['id']}/history", headers=case_env.headers("admin")
    ).json()
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "reported"),
        ("reported", "routed"),
        ("routed", "acknowledged"),
        ("acknowledged", "verified"),
        ("verified", "in_progress"),
        ("in_progress", "resolved"),
        ("resolved", "closed"),
    ]
    verify = history[3]
    assert verify["actor_role"] == "officer" and verify["position"]["lat"] == pytest.approx(
        DEMO_LAT + 0.0001
    )
    with case_env.store.sessions() as session:
        reward = session.scalar(select(RewardEntry).where(RewardEntry.case_id == case["id"]))
        points = session.scalar(  # the points are an entry of the one points ledger
            select(PointsEntry.delta).where(PointsEntry.case_id == case["id"])
        )
    assert reward is not None and float(reward.amount_yuan) > 0 and points
    assert points > 0
    mine = case_env.client.get("/api/v1/my/cases", headers=case_env.headers("citizen")).json()
    followed = next(m for m in mine if m["id"] == case["id"])
    assert followed["status"] == "closed"
    assert followed["reward"] == {
        "yuan": str(reward.amount_yuan),
        "points": points,
        "note": reward.note,
    }
    assert [s["status"] for s in followed["steps"]] == [
        "reported",
        "routed",
        "acknowledged",
        "verified",
        "in_progress",
        "resolved",
        "closed",
    ]
    assert all(s["note"] for s in followed["steps"])


def test_wrong_transition_is_409_naming_the_state(case_env: CaseEnv) -> None:
    case = case_env.report()
    response = case_env.act(case, "resolve", note="done")
    assert response.status_code == 409
    assert "routed" in response.json()["detail"]
    acknowledged = case_env.act(case, "acknowledge").json()
    said = case_env.client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"body": "收到"},
        headers=case_env.headers("citizen"),
    )
    assert said.status_code == 201  # a message after the winning change names no one
    stale = case_env.act(
        acknowledged | {"version": case["version"]},
        "verify",
        valid=True,
        lat=DEMO_LAT,
        lon=DEMO_LON,
    )
    assert stale.status_code == 409
    lost = stale.json()
    assert lost["changed_by"] == "officer" and lost["version"] == case["version"] + 1
    assert f"changed by officer at {lost['changed_at']}" in lost["detail"]
    twice = case_env.act(case, "acknowledge", who="dispatcher")  # both clicked acknowledge
    assert twice.status_code == 409 and twice.json()["changed_by"] == "officer"


def test_verify_needs_position_and_invalid_needs_reason(case_env: CaseEnv) -> None:
    case = case_env.act(case_env.report(), "acknowledge").json()
    assert case_env.act(case, "verify", valid=True).status_code == 422
    assert case_env.act(case, "verify", valid=False, lat=DEMO_LAT, lon=DEMO_LON).status_code == 422
    rejected = case_env.act(
        case, "verify", valid=False, reason="invalid", lat=DEMO_LAT, lon=DEMO_LON
    )
    assert rejected.json()["status"] == "rejected"
    with case_env.store.sessions() as session:
        assert session.scalar(select(RewardEntry).where(RewardEntry.case_id == case["id"])) is None


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            '{"lat": 23.02, "lon": 113.75, "category": "graffiti"}',
            422,
            "unknown category 'graffiti'",
        ),
        ('{"lat": 22.0, "lon": 113.0, "category": "garbage_piled"}', 422, "from every grid"),
        ('{"lat": NaN, "lon": 113.75, "category": "garbage_piled"}', 422, "lat must be a number"),
        ('{"lat": 23.02, "lon": 113.75, "category": ', 422, "malformed JSON"),
        ('{"lon": 113.75, "category": "garbage_piled"}', 422, "lat: Field required"),
        (
            '{"lat": 23.02, "lon": 113.75, "category": "garbage_piled", "crs": "utm"}',
            422,
            "unknown coordinate system",
        ),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_written(
    case_env: CaseEnv, body: str, status: int, message: str
) -> None:
    before = count(case_env, Case)
    response = case_env.client.post(
        "/api/v1/cases",
        content=body,
        headers=case_env.headers("citizen", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert count(case_env, Case) == before


def test_gcj02_report_routes_like_wgs84(case_env: CaseEnv) -> None:
    from geo.crs import from_wgs84

    lat, lon = from_wgs84(DEMO_LAT, DEMO_LON, "gcj02")
    case = case_env.report(lat=float(lat), lon=float(lon), crs="gcj02")
    assert case["routing"]["grid"]["code"] == case_env.demo_grid
    assert case["lat"] == pytest.approx(DEMO_LAT, abs=1e-8)


def test_photo_is_cleaned_of_exif_and_served_only_in_scope(
    case_env: CaseEnv, photo_bytes: bytes
) -> None:
    assert Image.open(io.BytesIO(photo_bytes)).getexif()  # the upload does carry EXIF
    response = case_env.client.post(
        "/api/v1/cases",
        data={
            "report": json.dumps({"lat": DEMO_LAT, "lon": DEMO_LON, "category": "billboard_hazard"})
        },
        files=[("photos", ("IMG_0001.JPG", photo_bytes, "image/jpeg"))],
        headers=case_env.headers("citizen"),
    )
    assert response.status_code == 201, response.text
    case = response.json()
    url = case["photos"][0]["url"].split("testserver")[-1]
    served = case_env.client.get(url, headers=case_env.headers("officer"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    cleaned = Image.open(io.BytesIO(served.content))
    assert cleaned.size == (64, 48)
    assert not cleaned.getexif()  # no GPS, no camera model
    assert b"SecretCam" not in served.content
    with case_env.store.sessions() as session:
        photo = session.scalar(select(Photo).where(Photo.case_id == case["id"]))
    assert photo is not None and "IMG_0001" not in photo.path
    assert (
        case_env.client.get(url, headers=case_env.headers("citizen")).status_code == 200
    )  # own case
    assert case_env.client.get(url, headers=case_env.headers("stranger")).status_code == 404
    assert case_env.client.get(url, headers=case_env.headers("other_citizen")).status_code == 404
    assert case_env.client.get(url).status_code == 401


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("report.jpg", b"%PDF-1.7\n" + b"0" * 2000, 415, "checked by content"),
        ("big.jpg", b"\xff\xd8" + b"0" * (3 * 1024 * 1024), 413, "at most 2 MB"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_written(
    case_env: CaseEnv, name: str, content: bytes, status: int, message: str
) -> None:
    cases, photos = count(case_env, Case), count(case_env, Photo)
    files_before = (
        sorted(case_env.settings.photo_dir.rglob("*"))
        if case_env.settings.photo_dir.exists()
        else []
    )
    response = case_env.client.post(
        "/api/v1/cases",
        data={
            "report": json.dumps({"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"})
        },
        files=[("photos", (name, content, "image/jpeg"))],
        headers=case_env.headers("citizen"),
    )
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert (count(case_env, Case), count(case_env, Photo)) == (cases, photos)
    files_after = (
        sorted(case_env.settings.photo_dir.rglob("*"))
        if case_env.settings.photo_dir.exists()
        else []
    )
    assert files_after == files_before


def test_huge_upload_is_refused_before_it_is_read(case_env: CaseEnv) -> None:
    response = case_env.client.post(
        "/api/v1/cases",
        content=b"0" * (30 * 1024 * 1024),
        headers=case_env.headers("citizen", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_idempotency_key_returns_the_first_result(case_env: CaseEnv) -> None:
    body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "illegal_parking", "description": "占道"}
    headers = case_env.headers("citizen", **{"Idempotency-Key": "k-123"})
    first = case_env.client.post("/api/v1/cases", json=body, headers=headers)
    second = case_env.client.post("/api/v1/cases", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    changed = case_env.client.post(
        "/api/v1/cases", json=body | {"description": "别的"}, headers=headers
    )
    assert changed.status_code == 422 and "different request" in changed.json()["detail"]
    other_user = case_env.client.post(
        "/api/v1/cases",
        json=body,
        headers=case_env.headers("other_citizen", **{"Idempotency-Key": "k-123"}),
    )
    assert other_user.status_code == 201 and other_user.json()["id"] != first.json()["id"]


def test_an_empty_idempotency_key_is_refused_and_makes_no_case(case_env: CaseEnv) -> None:
    """``make fuzz`` found it: an empty key skipped the replay, was stored, and the next
    report with an empty key met it on the unique index and answered 500."""
    body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "illegal_parking", "description": "空键"}
    for key in ("", " "):
        headers = case_env.headers("citizen", **{"Idempotency-Key": key})
        for _ in range(2):
            answer = case_env.client.post("/api/v1/cases", json=body, headers=headers)
            assert answer.status_code == 422, answer.text
            assert "idempotency-key" in answer.text.lower()
    mine = case_env.client.get("/api/v1/my/cases", headers=case_env.headers("citizen")).json()
    assert "空键" not in str(mine)


def test_officers_cannot_read_or_change_other_grids_cases(case_env: CaseEnv) -> None:
    case = case_env.report()
    cid = case["id"]
    client = case_env.client
    stranger = case_env.headers("stranger")
    assert client.get(f"/api/v1/cases/{cid}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/history", headers=stranger).status_code == 404
    for action in (
        "acknowledge",
        "verify",
        "start",
        "resolve",
        "close",
        "reassign",
        "escalate",
        "merge",
        "reopen",
    ):
        response = client.post(f"/api/v1/cases/{cid}/{action}", json={}, headers=stranger)
        assert response.status_code == 404, action
    queue = client.get("/api/v1/cases", headers=stranger).json()
    assert cid not in {c["id"] for c in queue["cases"]}
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=case_env.headers("far_dispatcher")).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=case_env.headers("other_citizen")).status_code
        == 404
    )
    photo = client.post(
        f"/api/v1/cases/{cid}/photos",
        files=[("photos", ("a.jpg", b"x", "image/jpeg"))],
        headers=stranger,
    )
    assert photo.status_code in (404, 415)
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=case_env.headers("officer")).status_code == 200
    )
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=case_env.headers("dispatcher")).status_code
        == 200
    )
    # a reporter may not act, an officer may not close
    assert case_env.act(case, "acknowledge", who="citizen").status_code == 403  # their own case
    assert client.get("/api/v1/cases", headers=case_env.headers("citizen")).status_code == 403


def test_reporter_identity_never_reaches_officers_or_reporters(case_env: CaseEnv) -> None:
    case = case_env.report(
        reporter={"id": "secret-id-77", "name": "李秘密", "phone": "13912345678"}
    )
    for who in ("officer", "dispatcher", "planner", "citizen"):
        texts = [
            case_env.client.get(f"/api/v1/cases/{case['id']}", headers=case_env.headers(who)).text,
            case_env.client.get("/api/v1/cases", headers=case_env.headers(who)).text,
            case_env.client.get(
                f"/api/v1/cases/{case['id']}/history", headers=case_env.headers(who)
            ).text,
            case_env.client.get("/api/v1/my/cases", headers=case_env.headers(who)).text,
        ]
        for text in texts:
            assert "13912345678" not in text and "李秘密" not in text and "secret-id-77" not in text
    seen = case_env.client.get(
        f"/api/v1/cases/{case['id']}", headers=case_env.headers("officer")
    ).json()
    assert seen["reporter"]["pseudonym"].startswith("居民-")
    admin = case_env.client.get(
        f"/api/v1/cases/{case['id']}", headers=case_env.headers("admin")
    ).json()
    assert admin["reporter"]["phone"] == "13912345678"


def test_queue_filters_and_overdue_first(case_env: CaseEnv) -> None:
    fresh = case_env.report(category="crime_lead")
    late = case_env.report(category="crime_lead")
    with case_env.store.transaction() as session:
        row = session.get(Case, late["id"])
        assert row is not None
        row.next_due = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    queue = case_env.client.get(
        "/api/v1/cases",
        params={"category": "crime_lead", "status": "routed"},
        headers=case_env.headers("dispatcher"),
    ).json()
    ids = [c["id"] for c in queue["cases"]]
    assert ids.index(late["id"]) < ids.index(fresh["id"])
    assert queue["cases"][ids.index(late["id"])]["deadlines"]["overdue"] is True
    assert all(c["category"]["code"] == "crime_lead" for c in queue["cases"])
    only_late = case_env.client.get(
        "/api/v1/cases",
        params={"category": "crime_lead", "overdue": "true"},
        headers=case_env.headers("dispatcher"),
    ).json()
    assert [c["id"] for c in only_late["cases"]] == [late["id"]]
    counts = queue["counts"]
    assert counts["routed"] == queue["total"]  # counts ignore the status filter, not others
    everything = case_env.client.get(
        "/api/v1/cases", params={"category": "crime_lead"}, headers=case_env.headers("dispatcher")
    ).json()
    assert sum(counts.values()) == everything["total"] and set(counts) >= {"closed", "rejected"}
    by_grid = case_env.client.get(
        "/api/v1/cases",
        params={"grid": case_env.demo_grid, "limit": 2},
        headers=case_env.headers("admin"),
    ).json()
    assert len(by_grid["cases"]) <= 2 and by_grid["total"] >= 2
    bad = case_env.client.get(
        "/api/v1/cases", params={"status": "lost"}, headers=case_env.headers("admin")
    )
    assert bad.status_code == 422


def test_nearby_duplicates_are_suggested_and_merged(case_env: CaseEnv) -> None:
    original = case_env.report(category="illegal_flyers")
    second = case_env.report(
        category="illegal_flyers", lat=DEMO_LAT + 0.0002, reporter={"id": "wx-dup"}
    )
    assert second["possible_duplicate_of"] == original["id"]
    near = case_env.client.get(
        "/api/v1/cases/nearby",
        params={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "illegal_flyers"},
        headers=case_env.headers("dispatcher"),
    ).json()
    assert near[0]["id"] == original["id"] and near[0]["distance_m"] == 0
    merged = case_env.act(second, "merge", who="dispatcher", duplicate_of=original["id"])
    assert merged.status_code == 200 and merged.json()["status"] == "rejected"
    assert merged.json()["duplicate_of"] == original["id"]


def test_reassign_and_escalate_record_their_reasons(case_env: CaseEnv) -> None:
    case = case_env.report()
    escalated = case_env.act(case, "escalate", who="dispatcher", note="紧急").json()
    assert escalated["escalation_level"] == 1
    assert escalated["routing"]["assignee"]["kind"] in ("grid_chief", "community")
    reassigned = case_env.act(
        escalated, "reassign", who="dispatcher", grid=case_env.other_grid
    ).json()
    assert reassigned["status"] == "routed"
    history = case_env.client.get(
        f"/api/v1/cases/{case['id']}/history", headers=case_env.headers("admin")
    ).json()
    assert [h["action"] for h in history][-2:] == ["escalate", "reassign"]
    assert history[-1]["data"]["grid"] == case_env.other_grid


def test_rewards_have_daily_caps_and_totals(case_env: CaseEnv) -> None:
    totals_before = case_env.client.get(
        "/api/v1/rewards/totals", params={"by": "town"}, headers=case_env.headers("admin")
    )
    assert totals_before.status_code == 200
    paid = []
    for _ in range(4):  # crime leads pay the most: the cap of 100 yuan bites
        case = case_env.act(
            case_env.report(category="crime_lead", reporter={"id": "wx-rich"}), "acknowledge"
        ).json()
        case_env.act(case, "verify", valid=True, lat=DEMO_LAT, lon=DEMO_LON)
        with case_env.store.sessions() as session:
            entry = session.scalar(select(RewardEntry).where(RewardEntry.case_id == case["id"]))
        paid.append(float(entry.amount_yuan) if entry else 0.0)
    assert sum(paid) <= 100.0
    assert paid[-1] < paid[0]
    by_reporter = case_env.client.get(
        "/api/v1/rewards/totals", params={"by": "reporter"}, headers=case_env.headers("dispatcher")
    ).json()
    assert all(row["reporter"].startswith("居民-") for row in by_reporter)
    assert (
        case_env.client.get(
            "/api/v1/rewards/totals", params={"by": "moon"}, headers=case_env.headers("admin")
        ).status_code
        == 422
    )
    assert (
        case_env.client.get(
            "/api/v1/rewards/totals", headers=case_env.headers("officer")
        ).status_code
        == 403
    )


def test_unauthenticated_requests_are_401(case_env: CaseEnv) -> None:
    response = case_env.client.post("/api/v1/cases", json={})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    bad = case_env.client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
