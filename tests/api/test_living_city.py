"""The living city as a newcomer meets it: the history ends now, the demo accounts sign in,
the dispatcher's queue is full (overdue first), this week has numbers, and the map of the
whole city counts the year's cases and one more after a new report."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from grids.cases.models import OPEN_STATUSES
from grids.samples import DEMO_LAT, DEMO_LON
from tests.conftest import BACKENDS, HISTORY_SECRET, HistoryCity, build_history_city, make_store

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Living:
    city: HistoryCity
    client: TestClient
    built: dt.datetime

    def get(self, path: str, who: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.city.token(who)}"}
        return self.client.get(path, params=params, headers=headers)


@pytest.fixture(scope="module", params=BACKENDS)
def living(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_city_dir: Path
) -> Iterator[Living]:
    """The small sample city built as `samples build` does by default: ending now."""
    tmp = tmp_path_factory.mktemp("living")
    store = make_store(request.param, tmp, request)
    built = dt.datetime.now(dt.UTC).replace(microsecond=0)
    city = build_history_city(store, sample_city_dir, as_of=built)
    settings = Settings(
        database_url=store.url,
        data_dir=tmp / "data",
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key=HISTORY_SECRET,
    )
    with TestClient(create_app(settings)) as client:
        yield Living(city, client, built)


def test_there_is_an_account_for_every_role(living: Living) -> None:
    roles = {a.role for a in living.city.accounts}
    assert roles == {"dispatcher", "officer", "reporter", "patrol_leader", "planner", "admin"}
    labels = {a.label for a in living.city.accounts}
    assert {"officer", "grid chief"} <= labels
    for account in living.city.accounts:
        assert living.get("/api/v1/rewards/totals", account.label, by="town").status_code in (
            200,
            403,
        ), account.label  # every token signs in (a role may not see totals)
    mine = living.get("/api/v1/my/cases", "reporter")
    assert mine.status_code == 200 and len(mine.json()) >= 20  # a reporter with a history


def test_the_dispatchers_queue_is_full_overdue_first(living: Living) -> None:
    # as the console asks: its "open" tab
    response = living.get("/api/v1/cases", "dispatcher", limit=100, status=list(OPEN_STATUSES))
    assert response.status_code == 200, response.text
    body = response.json()
    cases = body["cases"]
    assert body["total"] >= 3 and cases
    town = next(a.scope for a in living.city.accounts if a.label == "dispatcher")
    assert all(c["routing"]["town"]["code"] == town for c in cases)
    assert all(c["status"] in OPEN_STATUSES for c in cases)
    overdue = [c["deadlines"]["overdue"] for c in cases]
    assert overdue[0] and overdue == sorted(overdue, reverse=True)  # overdue ones first
    statuses = {c["status"] for c in cases}
    assert statuses - {"routed"}  # cases open at later stages too, not only new ones


def test_this_week_has_numbers(living: Living) -> None:
    today = living.built.astimezone(TZ).date().isoformat()
    for who in ("planner", "dispatcher"):
        response = living.get("/api/v1/summaries", who, period="week", date=today)
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["received"] > 0, who


def _legend_count(html: str) -> int:
    found = re.search(r"Data: the case store · ([\d,]+) reports", html)
    assert found, "the legend names the store and its count"
    return int(found.group(1).replace(",", ""))


def test_the_city_map_counts_the_year_and_one_more_after_a_new_case(living: Living) -> None:
    params = {"res": 8, "basemap": "none", "lang": "en"}
    before = _legend_count(living.get("/maps/hotspots", "planner", **params).text)
    assert before > 5000  # the year's reports, not a handful
    posted = living.client.post(
        "/api/v1/cases",
        json={"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled"},
        headers={"Authorization": f"Bearer {living.city.token('reporter')}"},
    )
    assert posted.status_code == 201, posted.text
    after = _legend_count(living.get("/maps/hotspots", "planner", **params).text)
    assert after == before + 1
