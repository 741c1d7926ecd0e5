"""The OpenAPI document says what the service does (issue 10, item 10)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.api.conftest import CaseEnv

ERRORS = ("401", "403", "404", "409", "413", "415", "422")


@pytest.fixture(scope="module")
def document(case_env: CaseEnv) -> dict[str, Any]:
    return case_env.client.get("/openapi.json").json()


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_ref_resolves_and_reporter_is_documented(document: dict[str, Any]) -> None:
    refs = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(document)))
    assert refs and all(ref.startswith("#/components/") for ref in refs)
    for ref in refs:
        _resolve(document, ref)
    body = document["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]
    reporter = body["application/json"]["schema"]["properties"]["reporter"]
    target = reporter["anyOf"][0]["$ref"]
    assert set(_resolve(document, target)["properties"]) == {"id", "name", "phone"}


def test_every_operation_documents_its_errors_as_the_service_sends_them(
    document: dict[str, Any],
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert set(ERRORS) <= set(responses), f"{method} {path}"
            if path.startswith("/open311/"):
                continue
            schema = responses["422"]["content"]["application/json"]["schema"]
            detail = _resolve(document, schema["$ref"])["properties"]["detail"]
            assert detail["type"] == "string", f"{method} {path}"


def test_images_and_pages_have_their_media_types(document: dict[str, Any]) -> None:
    paths = document["paths"]

    def types(path: str, method: str = "get", status: str = "200") -> set[str]:
        return set(paths[path][method]["responses"][status]["content"])

    assert types("/api/v1/cases/{case_id}/photos/{photo_id}") == {
        "image/jpeg",
        "image/png",
        "image/webp",
    }
    for page in ("/maps/hotspots", "/maps/emerging", "/maps/patrol-gaps", "/reports/{period}"):
        assert "text/html" in types(page), page
    assert types("/api/v1/hotspots") == {"application/geo+json"}
    assert "text/csv" in types("/api/v1/summaries")
    assert types("/open311/v2/requests.{fmt}", "post", "201") == {"application/json", "text/xml"}


def test_405_names_every_method_of_the_path(case_env: CaseEnv) -> None:
    """``/cases/1/history`` is read by GET and is an action path for POST."""
    response = case_env.client.delete("/api/v1/cases/1/history", headers=case_env.headers("admin"))
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    assert response.json()["detail"]
