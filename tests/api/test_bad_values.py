"""Ordinary bad values get a clear 4xx on both backends, never a 500 (issue 10, item 6).

Each row is one request of the issue's list: naive and extreme dates, strings longer
than their columns (refused alike on SQLite, which would store them, and PostgreSQL,
which would fail), NUL characters, ids past the 32-bit range or not ASCII digits, and
a team member without a code.
"""

from __future__ import annotations

from typing import Any

import pytest

from grids.accounts.users import create_api_key
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv, jpeg_with_gps

HUGE = "9223372036854775808"  # 2**63: past SQLite's integers
PAST_INT32 = "2147483648"  # 2**31: past PostgreSQL's integer columns
LOC = f"lat={DEMO_LAT}&lon={DEMO_LON}"


def _report(**fields: Any) -> dict[str, Any]:
    return {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled", **fields}


def _open311(**fields: str) -> dict[str, str]:
    return {"service_code": "garbage_piled", "lat": str(DEMO_LAT), "long": str(DEMO_LON), **fields}


# (who, method, path, keyword arguments of the request, the statuses it may answer)
GETS: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
    # naive datetimes: the city's local time, answered normally
    ("dispatcher", "/api/v1/cases?since=2026-11-01", {}, (200,)),
    ("dispatcher", "/api/v1/cases?until=2026-11-01T08:00:00", {}, (200,)),
    ("planner", "/api/v1/rewards/totals?by=town&since=2026-11-01", {}, (200,)),
    # extreme dates
    ("citizen", f"/api/v1/locate?{LOC}&at=0001-01-01T00:00:00", {}, (422,)),
    ("citizen", f"/api/v1/locate?{LOC}&at=9999-12-31T23:59:59", {}, (422,)),
    ("dispatcher", "/api/v1/cases?since=0001-01-01T00:00:00", {}, (422,)),
    ("planner", "/api/v1/rewards/totals?until=9999-12-31T23:59:59", {}, (422,)),
    ("planner", "/api/v1/rewards/totals?until=0.5", {}, (422,)),
    ("citizen", "/open311/v2/requests.json?end_date=0001-01-01T00:00:00", {}, (400,)),
    ("citizen", "/open311/v2/requests.json?start_date=9999-12-31T23:59:59", {}, (400,)),
    ("planner", "/api/v1/hotspots?since=0001-01-01", {}, (422,)),
    ("planner", "/api/v1/hotspots/emerging?since=0001-01-01", {}, (422,)),
    ("planner", "/api/v1/hotspots?until=9999-12-31", {}, (422,)),
    ("planner", "/api/v1/summaries?period=day&date=0001-01-01", {}, (422,)),
    ("planner", "/api/v1/summaries?period=week&date=9999-12-31", {}, (422,)),
    ("planner", "/api/v1/summaries?period=month&date=9999-12-31", {}, (422,)),
    ("planner", "/reports/week?date=9999-12-31", {}, (422,)),
    ("planner", "/api/v1/patrols/attendance?team=T1&date=9999-12-31", {}, (404, 422)),
    # ids
    ("admin", f"/api/v1/cases/{HUGE}", {}, (404, 422)),
    ("admin", f"/api/v1/cases/{PAST_INT32}", {}, (404, 422)),
    ("admin", f"/api/v1/cases/{HUGE}/history", {}, (404, 422)),
    ("admin", f"/api/v1/cases/1/photos/{HUGE}", {}, (404, 422)),
    ("admin", f"/api/v1/cases/{HUGE}/messages", {}, (404, 422)),
    ("citizen", "/open311/v2/requests/99999999999999999999999.json", {}, (404,)),
    ("citizen", f"/open311/v2/requests/{PAST_INT32}.json", {}, (404,)),
    ("citizen", "/open311/v2/requests/%C2%B2.json", {}, (404,)),
    ("citizen", "/open311/v2/tokens/99999999999999999999999.json", {}, (404,)),
    ("citizen", "/open311/v2/tokens/%C2%B2.json", {}, (404,)),
    ("citizen", f"/open311/v2/requests.json?service_request_id={HUGE}", {}, (400,)),
    ("citizen", "/open311/v2/requests.json?service_request_id=%C2%B2", {}, (400,)),
]

POSTS: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
    ("citizen", "/api/v1/cases", {"json": _report(occurred_at="0001-01-01T00:00:00")}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(occurred_at="9999-12-31T23:59:59")}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(occurred_at=0.5)}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(description="a\x00b")}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(attributes={"k": "a\x00b"})}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(reporter={"phone": "1" * 33})}, (422,)),
    ("citizen", "/api/v1/cases", {"json": _report(source="s" * 40)}, (422,)),
    ("dispatcher", f"/api/v1/cases/{HUGE}/acknowledge", {"json": {"version": 1}}, (404, 422)),
    ("dispatcher", "/api/v1/cases/1/merge", {"json": {"duplicate_of": int(HUGE)}}, (404, 422)),
    ("dispatcher", "/api/v1/cases/1/acknowledge", {"json": {"version": int(HUGE)}}, (404, 422)),
    (
        "dispatcher",
        "/api/v1/patrols/teams",
        {"json": {"code": "T-NOCODE", "name": "x", "members": [{"name": "没有编号"}]}},
        (422,),
    ),
    (
        "dispatcher",
        "/api/v1/patrols/teams",
        {"json": {"code": "T-LONG", "name": "x", "members": [{"code": "c" * 65}]}},
        (422,),
    ),
    (
        "dispatcher",
        "/api/v1/patrols/teams",
        {"json": {"code": "T-LONG", "name": "x", "members": [{"code": "c", "name": "n" * 101}]}},
        (422,),
    ),
    ("dispatcher", "/api/v1/patrols/teams", {"json": {"code": "T\x00", "name": "x"}}, (422,)),
]

OPEN311_POSTS: list[tuple[dict[str, str], tuple[int, ...]]] = [
    (_open311(description="a\x00b"), (400,)),
    (_open311(phone="1" * 33), (400,)),
    (_open311(email="e" * 190 + "@example.org"), (400,)),
    (_open311(account_id="a" * 201), (400,)),
    (_open311(first_name="n" * 300), (400,)),
    (_open311(**{"attribute[landmark]": "x\x00"}), (400,)),
]


@pytest.fixture(scope="module")
def api_key(case_env: CaseEnv) -> str:
    with case_env.store.transaction() as session:
        return create_api_key(session, "bad-values-app")


@pytest.mark.parametrize(("who", "path", "kwargs", "statuses"), GETS, ids=[g[1] for g in GETS])
def test_bad_query_values_are_a_clear_4xx(
    case_env: CaseEnv, who: str, path: str, kwargs: dict[str, Any], statuses: tuple[int, ...]
) -> None:
    response = case_env.client.get(path, headers=case_env.headers(who), **kwargs)
    assert response.status_code in statuses, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(("application/json", "text/xml"))


@pytest.mark.parametrize(
    ("who", "path", "kwargs", "statuses"),
    POSTS,
    ids=[f"{p[1]}-{i}" for i, p in enumerate(POSTS)],
)
def test_bad_body_values_are_a_clear_4xx(
    case_env: CaseEnv, who: str, path: str, kwargs: dict[str, Any], statuses: tuple[int, ...]
) -> None:
    response = case_env.client.post(path, headers=case_env.headers(who), **kwargs)
    assert response.status_code in statuses, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(("form", "statuses"), OPEN311_POSTS, ids=[str(i) for i in range(6)])
def test_bad_open311_fields_are_a_400(
    case_env: CaseEnv, api_key: str, form: dict[str, str], statuses: tuple[int, ...]
) -> None:
    response = case_env.client.post("/open311/v2/requests.json", data={"api_key": api_key, **form})
    assert response.status_code in statuses, response.text
    assert response.json()[0]["description"]


@pytest.mark.parametrize("field", ["service_code", "api_key", "email"])
def test_nul_in_a_multipart_open311_field_is_a_4xx(
    case_env: CaseEnv, api_key: str, field: str
) -> None:
    """Multipart bodies are not screened for NUL (photos hold them): the store's refusal
    of such a value is the client's error too, on both backends."""
    form = {"api_key": api_key, **_open311(), field: "x\x00y"}
    response = case_env.client.post(
        "/open311/v2/requests.json",
        files={key: (None, value) for key, value in form.items()},
    )
    assert 400 <= response.status_code < 500, response.text


def test_photo_kind_longer_than_its_column_is_a_422(case_env: CaseEnv) -> None:
    case = case_env.report()
    response = case_env.client.post(
        f"/api/v1/cases/{case['id']}/photos",
        data={"kind": "k" * 17},
        files={"photos": ("a.jpg", jpeg_with_gps(), "image/jpeg")},
        headers=case_env.headers("officer"),
    )
    assert response.status_code == 422, response.text
    assert "kind" in response.json()["detail"]
