"""One report never breaks a queue; attributes and bodies have limits (issue 10, items 1-2)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from grids.cases.models import Case
from grids.limits import ATTRIBUTES_MAX_BYTES, ATTRIBUTES_MAX_DEPTH
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv


def _nested(depth: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(depth - 1):
        value = {"a": value}
    return {"a": value}


def _body(**fields: Any) -> dict[str, Any]:
    return {"lat": DEMO_LAT, "lon": DEMO_LON, "category": "garbage_piled", **fields}


@pytest.mark.parametrize("depth", [ATTRIBUTES_MAX_DEPTH + 1, 500, 1000, 5000])
def test_deeply_nested_attributes_are_refused(case_env: CaseEnv, depth: int) -> None:
    response = case_env.client.post(
        "/api/v1/cases",
        content=json.dumps(_body(attributes=_nested(depth))) if depth < 900 else _deep(depth),
        headers=case_env.headers("citizen", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422, response.text
    assert "nest" in response.json()["detail"]


def _deep(depth: int) -> str:
    """JSON nested deeper than Python's json module can even write."""
    head = json.dumps(_body())[:-1]
    return head + ', "attributes": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def test_attributes_within_the_limits_are_kept(case_env: CaseEnv) -> None:
    attributes = {"urgency": "high", "floor": 3, "tags": ["stairs", "fire"], "seen": {"by": "me"}}
    case = case_env.report(attributes=attributes)
    assert case["attributes"] == attributes


@pytest.mark.parametrize(
    "attributes",
    [
        {"blob": "x" * (ATTRIBUTES_MAX_BYTES + 1)},
        {"list": list(range(5000))},
        {"k" * 65: 1},
    ],
    ids=["long-value", "many-items", "long-key"],
)
def test_large_attributes_are_refused(case_env: CaseEnv, attributes: dict[str, Any]) -> None:
    response = case_env.client.post(
        "/api/v1/cases", json=_body(attributes=attributes), headers=case_env.headers("citizen")
    )
    assert response.status_code == 422, response.text
    assert "attribute" in response.json()["detail"]


def test_invalid_utf8_is_a_422(case_env: CaseEnv) -> None:
    raw = json.dumps(_body(description="X")).encode().replace(b"X", b"\xff\xfe")
    response = case_env.client.post(
        "/api/v1/cases",
        content=raw,
        headers=case_env.headers("citizen", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422, response.text
    assert "UTF-8" in response.json()["detail"]


def test_a_stored_deep_record_does_not_break_its_queue(case_env: CaseEnv) -> None:
    """A record stored before the limits, 500 levels deep, still lists and opens."""
    case = case_env.report()
    with case_env.store.transaction() as session:
        session.execute(update(Case).where(Case.id == case["id"]).values(attributes=_nested(500)))
    one = case_env.client.get(f"/api/v1/cases/{case['id']}", headers=case_env.headers("admin"))
    assert one.status_code == 200, one.text
    assert "not shown" in one.json()["attributes"]["_withheld"]
    queue = case_env.client.get("/api/v1/cases?limit=500", headers=case_env.headers("admin"))
    assert queue.status_code == 200
    assert case["id"] in {c["id"] for c in queue.json()["cases"]}
    public = case_env.client.get(
        "/open311/v2/requests.json", params={"service_request_id": case["id"]}
    )
    assert public.status_code == 200


def test_open311_attributes_have_the_same_limits(case_env: CaseEnv) -> None:
    from grids.accounts.users import create_api_key

    with case_env.store.transaction() as session:
        key = create_api_key(session, "limits-app")
    form = {
        "api_key": key,
        "service_code": "garbage_piled",
        "lat": str(DEMO_LAT),
        "long": str(DEMO_LON),
        "attribute[landmark]": "x" * (ATTRIBUTES_MAX_BYTES + 1),
    }
    response = case_env.client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 400, response.text
    assert "attributes" in response.json()[0]["description"]


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/patrols/checkins"])
def test_a_body_past_the_json_limit_is_refused_before_parsing(case_env: CaseEnv, path: str) -> None:
    """The limit holds without a Content-Length too (a chunked body)."""
    chunk = b'{"x": "' + b"y" * (1024 * 1024) + b'",'

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(int(case_env.settings.max_json_mb) + 3):
            yield chunk

    response = case_env.client.post(
        path,
        content=chunks(),
        headers=case_env.headers("admin", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413, response.text
    assert "GRIDWATCH_MAX_JSON_MB" in response.json()["detail"]
