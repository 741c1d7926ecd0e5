"""Photo files and their rows: a file under a photo's name always has its row, and what a
killed process left half-done is finished or removed when the service starts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from grids.cases.models import Photo
from tests.api.conftest import CaseEnv


def test_photo_files_a_killed_process_left_are_swept_at_start_up(
    case_env: CaseEnv, photo_bytes: bytes
) -> None:
    photos = case_env.settings.case_config().photos
    assert photos is not None
    # written, but the process died before its transaction committed
    orphan = photos.store(photo_bytes, "orphan.jpg", "report")
    assert not photos.path(orphan).exists()  # not under a photo's name before its commit
    # committed, but the process died before the file got its name
    case = case_env.report(description="photo committed, file not renamed")
    committed = photos.store(photo_bytes, "committed.jpg", "resolution")
    with case_env.store.transaction() as session:
        committed.case_id = case["id"]
        session.add(committed)
    with TestClient(create_app(case_env.settings)):  # the restart
        pass
    on_disk = {
        str(p.relative_to(photos.directory)) for p in photos.directory.rglob("*") if p.is_file()
    }
    with case_env.store.sessions() as session:
        rows = set(session.scalars(select(Photo.path)).all())
    assert on_disk <= rows, on_disk - rows  # no orphan file
    assert photos.path(committed).exists()
    served = case_env.client.get(
        f"/api/v1/cases/{case['id']}/photos/{committed.id}", headers=case_env.headers("officer")
    )
    assert served.status_code == 200 and served.content.startswith(b"\xff\xd8")


def test_a_refused_report_leaves_no_photo_file(case_env: CaseEnv, photo_bytes: bytes) -> None:
    photos = case_env.settings.case_config().photos
    assert photos is not None
    before = {p for p in photos.directory.rglob("*") if p.is_file()}
    refused = case_env.client.post(
        "/api/v1/cases",
        data={"report": '{"lat": 23.02, "lon": 113.75, "category": "no_such_category"}'},
        files=[("photos", ("p.jpg", photo_bytes, "image/jpeg"))],
        headers=case_env.headers("citizen"),
    )
    assert refused.status_code == 422
    assert {p for p in photos.directory.rglob("*") if p.is_file()} == before
