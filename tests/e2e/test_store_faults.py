"""Fault injection under a bounded intake load (see tests/e2e/faults.py): the PostgreSQL
server stopped and started again under the running service, and the service killed with
``kill -9`` on both backends. What is promised (README, "Reliability"): a 201 is durable;
while the store is down every answer is a JSON 503 with Retry-After; the service recovers
by itself; retries with the same Idempotency-Key never make two cases; a restart leaves no
half-written case or photo."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.settings import Settings
from grids.accounts.users import create_user
from grids.cases.models import Case, CaseEvent, Photo
from grids.db import make_engine, session_factory, upgrade_schema
from grids.samples import DEMO_LAT, DEMO_LON
from grids.samples.load import load_sample_city
from tests.api.conftest import jpeg_with_gps
from tests.conftest import TAXONOMY, Store, assert_invariants
from tests.e2e.faults import Cluster, Load, Service, cluster, served_env, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.xdist_group("faults")]


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    yield from cluster()


def _citizen(store: Store) -> str:
    with store.transaction() as session:
        return create_user(session, f"load-{time.monotonic_ns()}", "reporter")[1]


def _check_acknowledged(store: Store, load: Load) -> dict[str, int]:
    """Every acknowledged report is in the store, once, with its audit rows."""
    created = load.created()
    assert created, "the load got no report through"
    with store.sessions() as session:
        for key, case_id in created.items():
            case = session.get(Case, case_id)
            assert case is not None, f"{key}: acknowledged as case {case_id}, not in the store"
            assert case.description == key
            same = session.scalar(
                select(func.count()).select_from(Case).where(Case.description == key)
            )
            assert same == 1, f"{key}: {same} cases for one Idempotency-Key"
        orphans = session.scalars(
            select(Case.id).where(
                ~select(CaseEvent.id).where(CaseEvent.case_id == Case.id).exists()
            )
        ).all()
        assert not orphans, f"cases without audit rows: {orphans}"
    return created


def test_a_store_outage_is_json_503_then_recovers_without_a_restart(
    pg_cluster: Cluster, sample_city_dir: Path, tmp_path: Path
) -> None:
    engine = make_engine(pg_cluster.url)
    upgrade_schema(engine)
    store = Store("postgis", pg_cluster.url, engine, session_factory(engine))
    with store.transaction() as session:
        load_sample_city(session, sample_city_dir, TAXONOMY)
    token = _citizen(store)
    service = Service(served_env(pg_cluster.url, tmp_path / "var", "outage"))
    service.start()
    try:
        assert service.process is not None
        pid = service.process.pid
        with Load(service.base, token) as load:
            wait_until(lambda: load.count(201) >= 20, "reports before the outage")
            pg_cluster.stop()
            down = time.monotonic()
            wait_until(lambda: load.count(503, after=down) >= 20, "503s while the store is down")
            health = httpx.get(f"{service.base}/healthz", timeout=10)
            located = httpx.get(
                f"{service.base}/api/v1/locate",
                params={"lat": DEMO_LAT, "lon": DEMO_LON},
                timeout=10,
            )
            up = time.monotonic()
            pg_cluster.start()
            wait_until(lambda: load.count(201, after=up) >= 20, "reports after the outage")
        assert service.process.poll() is None and service.process.pid == pid  # never restarted
        assert health.status_code == 503 and health.json()["store"].startswith("unreachable")
        assert health.headers["retry-after"]
        assert located.status_code == 200 and located.json()["grid"]["code"]
        while_down = [a for a in load.answers if a.started >= down and a.ended <= up]
        assert while_down and all(a.status == 503 for a in while_down), {
            a.status for a in while_down
        }
        assert all(a.json and a.retry_after for a in while_down)
        assert all(a.status in (200, 201, 503) and a.json for a in load.answers), {
            (a.status, a.json) for a in load.answers
        }
        _check_acknowledged(store, load)
        assert_invariants(store)
    finally:
        service.stop()
        engine.dispose()


@pytest.mark.parametrize("with_photos", [True, False], ids=["photos", "json"])
def test_kill_9_under_load_loses_no_acknowledged_report_and_leaves_no_orphan(
    city_store: Store, tmp_path: Path, with_photos: bool
) -> None:
    data_dir = tmp_path / "var"
    photo_dir = Settings(database_url=city_store.url, data_dir=data_dir).photo_dir
    service = Service(served_env(city_store.url, data_dir, "kill"))
    token = _citizen(city_store)
    photo = jpeg_with_gps() if with_photos else None
    loads = []
    try:
        for _round in range(2):
            service.start()
            with Load(service.base, token, photo=photo) as load:
                wait_until(lambda: load.count(201) >= 15, "reports before the kill")
                service.kill()
                wait_until(
                    lambda: sum(1 for a in load.answers if a.status is None) >= 4,
                    "the clients to see the service gone",
                )
            loads.append(load)
        service.start()  # the restart sweeps what the last kill left
    finally:
        service.stop()
    for load in loads:
        _check_acknowledged(city_store, load)
    with city_store.sessions() as session:
        rows = set(session.scalars(select(Photo.path)).all())
    on_disk = {str(p.relative_to(photo_dir)) for p in photo_dir.rglob("*") if p.is_file()}
    assert on_disk <= rows, f"orphan photo files: {sorted(on_disk - rows)}"
    if with_photos:
        with city_store.sessions() as session:
            mine = set(
                session.scalars(
                    select(Photo.path)
                    .join(Case, Case.id == Photo.case_id)
                    .where(Case.description.startswith("load-"))
                ).all()
            )
        assert mine and mine <= on_disk, f"photos without their file: {sorted(mine - on_disk)}"
