"""Concurrent writers over real HTTP (uvicorn on a socket): first reports of one new reporter,
changes without and with a version, many clients reporting at once on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.settings import Settings
from grids.accounts.models import Reporter
from grids.accounts.users import create_api_key, create_user
from grids.cases.models import Case, CaseEvent
from grids.city.models import Assignment, Person, Unit
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import make_users
from tests.conftest import Store
from tests.e2e.test_case_loop_http import _two_grids, auth, live_settings, serve

pytestmark = pytest.mark.e2e


@dataclass
class Live:
    base: str
    tokens: dict[str, str]
    settings: Settings
    store: Store

    def post_case(self, who: str, **fields: Any) -> dict[str, Any]:
        body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled", **fields}
        response = httpx.post(
            f"{self.base}/api/v1/cases", json=body, headers=auth(self.tokens, who), timeout=60
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def live(city_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = live_settings(city_store, tmp_path_factory.mktemp("live"), "concurrency")
    with serve(settings) as base:
        tokens = make_users(city_store, *_two_grids(base))
        yield Live(base, tokens, settings, city_store)


def burst(count: int, call: Any) -> list[Any]:
    """``call(i)`` for ``i`` in ``range(count)``, all at once."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))


def test_twenty_concurrent_first_reports_of_a_new_reporter_all_succeed(live: Live) -> None:
    """An app's new user, a new personal reporter and an Open311 client's new user each
    report 20 times at once: every report is a 201 under one reporter (PostgreSQL used to
    fail most of them on the reporters' unique identity key)."""
    with live.store.transaction() as session:
        app_token = create_user(session, "burst-app", "reporter", app=True)[1]
        person_token = create_user(session, "burst-citizen", "reporter")[1]
        api_key = create_api_key(session, "burst-open311")
    body = {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"}

    def via_app(i: int) -> int:
        return httpx.post(
            f"{live.base}/api/v1/cases",
            json=body | {"description": f"app {i}", "reporter": {"id": "wx-new", "phone": "1"}},
            headers={"Authorization": f"Bearer {app_token}"},
            timeout=60,
        ).status_code

    def via_account(i: int) -> int:
        return httpx.post(
            f"{live.base}/api/v1/cases",
            json=body | {"description": f"personal {i}"},
            headers={"Authorization": f"Bearer {person_token}"},
            timeout=60,
        ).status_code

    def via_open311(i: int) -> int:
        form = {
            "api_key": api_key,
            "service_code": "garbage_piled",
            "lat": str(DEMO_LAT),
            "long": str(DEMO_LON),
            "description": f"open311 {i}",
            "account_id": "o311-new",
        }
        return httpx.post(
            f"{live.base}/open311/v2/requests.json", data=form, timeout=60
        ).status_code

    for call, prefix in ((via_app, "app"), (via_account, "personal"), (via_open311, "open311")):
        statuses = burst(20, call)
        assert statuses == [201] * 20, (prefix, statuses)
        with live.store.sessions() as session:
            reporters = session.scalars(
                select(Case.reporter_id).where(Case.description.startswith(prefix + " "))
            ).all()
            assert len(reporters) == 20 and len(set(reporters)) == 1, (prefix, reporters)
            assert session.get(Reporter, reporters[0]) is not None


def _town_officers(store: Store, town: str) -> list[str]:
    with store.sessions() as session:
        return list(
            session.scalars(
                select(Person.code)
                .join(Assignment, Assignment.person_id == Person.id)
                .join(Unit, Unit.id == Assignment.unit_id)
                .where(Assignment.role == "officer", Unit.code.startswith(town + "-"))
                .order_by(Person.code)
                .limit(2)
            ).all()
        )


def test_a_change_without_a_version_is_428_and_changes_nothing(live: Live) -> None:
    """50 concurrent reassigns that send no If-Match (nor version): all 428 Precondition
    Required (RFC 6585), the case untouched (they all used to win, one after the other)."""
    case = live.post_case("citizen", description="blind")
    officers = _town_officers(live.store, case["routing"]["town"]["code"])

    def blind(i: int) -> httpx.Response:
        return httpx.post(
            f"{live.base}/api/v1/cases/{case['id']}/reassign",
            json={"officer": officers[i % 2], "note": f"blind {i}"},
            headers=auth(live.tokens, "dispatcher"),
            timeout=60,
        )

    responses = burst(50, blind)
    assert [r.status_code for r in responses] == [428] * 50
    assert "If-Match" in responses[0].json()["detail"]
    after = httpx.get(
        f"{live.base}/api/v1/cases/{case['id']}", headers=auth(live.tokens, "dispatcher")
    ).json()
    assert after["version"] == case["version"]


def test_fifty_concurrent_reassigns_have_one_winner_per_version(live: Live) -> None:
    """50 dispatchers each reassign the version they last read, retrying on 409 up to five
    times: every version has exactly one winner, and the case's version counts the wins."""
    case = live.post_case("citizen", description="one winner per version")
    officers = _town_officers(live.store, case["routing"]["town"]["code"])
    url = f"{live.base}/api/v1/cases/{case['id']}"

    def dispatcher(i: int) -> list[int]:
        won = []
        with httpx.Client(timeout=60, headers=auth(live.tokens, "dispatcher")) as http:
            for _ in range(5):
                seen = http.get(url).json()["version"]
                response = http.post(
                    f"{url}/reassign",
                    json={"officer": officers[i % 2], "note": f"dispatcher {i}"},
                    headers={"If-Match": str(seen)},
                )
                assert response.status_code in (200, 409), response.text
                if response.status_code == 200:
                    assert response.json()["version"] == seen + 1
                    won.append(seen)
                    break
        return won

    wins = [v for won in burst(50, dispatcher) for v in won]
    assert len(wins) == len(set(wins)), sorted(wins)  # never two winners of one version
    with live.store.sessions() as session:
        final = session.get(Case, case["id"])
        assert final is not None
        assert final.version == case["version"] + len(wins)
        reassigns = session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case["id"], CaseEvent.action == "reassign")
        )
    assert reassigns == len(wins)


def test_thirty_two_clients_reporting_at_once_all_get_201(live: Live) -> None:
    """32 clients, 3 reports each, at once: every one a 201 (on SQLite, the process's writers
    take turns instead of racing for the file's lock: no "database is locked")."""

    def client(i: int) -> list[int]:
        with httpx.Client(timeout=120, headers=auth(live.tokens, "citizen")) as http:
            return [
                http.post(
                    f"{live.base}/api/v1/cases",
                    json={
                        "lat": DEMO_LAT,
                        "lon": DEMO_LON,
                        "category": "garbage_piled",
                        "description": f"crowd {i}-{n}",
                    },
                ).status_code
                for n in range(3)
            ]

    statuses = [s for batch in burst(32, client) for s in batch]
    assert statuses == [201] * 96, statuses
    with live.store.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Case).where(Case.description.startswith("crowd "))
            )
            == 96
        )
