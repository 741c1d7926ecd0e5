"""Open311 GeoReport v2: every response validates against the shared schemas."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from typer.testing import CliRunner

from api.cli import app as cli
from grids.accounts.users import create_api_key
from grids.samples import DEMO_LAT, DEMO_LON
from tests.api.conftest import CaseEnv
from tests.conftest import REPO

OPEN311 = REPO / "data_samples" / "open311"
SCHEMAS = OPEN311 / "schema"


def validator(name: str) -> Draft202012Validator:
    """A validator for one schema file, resolving ``$ref`` to its siblings by file name."""
    registry = Registry().with_resources(
        (
            p.name,
            Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT202012),
        )
        for p in SCHEMAS.glob("*.json")
    )
    return Draft202012Validator(json.loads((SCHEMAS / name).read_text()), registry=registry)


def valid(name: str, data: Any) -> None:
    errors = sorted(validator(name).iter_errors(data), key=str)
    assert not errors, [e.message for e in errors[:5]]


@pytest.fixture(scope="module")
def api_key(case_env: CaseEnv) -> str:
    with case_env.store.transaction() as session:
        return create_api_key(session, "test-app")


def test_discovery_and_services_validate(case_env: CaseEnv) -> None:
    client = case_env.client
    discovery = client.get("/open311/v2/discovery.json").json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = client.get("/open311/v2/services.json").json()
    valid("services.json", services)
    assert {"fire_exit_blocked", "crime_lead"} <= {s["service_code"] for s in services}
    definition = client.get("/open311/v2/services/fire_exit_blocked.json").json()
    valid("service-definition.json", definition)
    for path in ("discovery.xml", "services.xml", "services/fire_exit_blocked.xml"):
        response = client.get(f"/open311/v2/{path}")
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/xml"
        )
        ET.fromstring(response.content)  # well-formed
    assert ET.fromstring(client.get("/open311/v2/services.xml").content).tag == "services"


def test_post_and_read_back_requests(case_env: CaseEnv, api_key: str) -> None:
    client = case_env.client
    form = {
        "api_key": api_key,
        "service_code": "garbage_piled",
        "lat": str(DEMO_LAT),
        "long": str(DEMO_LON),
        "description": "垃圾堆积三天",
        "email": "citizen@example.org",
        "attribute[urgency]": "high",
        "media_url": "https://example.org/p.jpg",
    }
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    one = client.get(f"/open311/v2/requests/{request_id}.json").json()
    valid("requests.json", one)
    assert one[0]["status"] == "open" and one[0]["service_code"] == "garbage_piled"
    assert one[0]["lat"] == pytest.approx(DEMO_LAT) and one[0]["agency_responsible"]
    assert one[0]["expected_datetime"] and one[0]["media_url"] == "https://example.org/p.jpg"
    listed = client.get(
        "/open311/v2/requests.json", params={"service_code": "garbage_piled", "status": "open"}
    ).json()
    valid("requests.json", listed)
    assert request_id in {r["service_request_id"] for r in listed}
    token = client.get(f"/open311/v2/tokens/{request_id}.json").json()
    assert token[0]["service_request_id"] == request_id
    xml = client.get(f"/open311/v2/requests/{request_id}.xml")
    root = ET.fromstring(xml.content)
    assert (
        root.tag == "service_requests"
        and root.find("request/service_request_id").text == request_id
    )
    # nobody sees who reported it
    assert "citizen@example.org" not in client.get("/open311/v2/requests.json").text


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        (
            {"service_code": "garbage_piled", "lat": "23.02", "long": "113.75"},
            403,
            "api_key is required",
        ),
        (
            {"api_key": "wrong", "service_code": "garbage_piled", "lat": "23.02", "long": "113.75"},
            403,
            "invalid api_key",
        ),
        ({"service_code": "nope", "lat": "23.02", "long": "113.75"}, 404, "no service 'nope'"),
        (
            {"service_code": "garbage_piled", "address_string": "东城大道1号"},
            400,
            "lat and long are required",
        ),
        ({"service_code": "garbage_piled", "lat": "22.0", "long": "113.0"}, 400, "from every grid"),
    ],
)
def test_post_errors_follow_the_spec(
    case_env: CaseEnv, api_key: str, form: dict, status: int, message: str
) -> None:
    if "api_key" not in form and status != 403:
        form = {"api_key": api_key, **form}
    for fmt in ("json", "xml"):
        response = case_env.client.post(f"/open311/v2/requests.{fmt}", data=form)
        assert response.status_code == status
        if fmt == "json":
            errors = response.json()
            assert errors[0]["code"] == status and message in errors[0]["description"]
        else:
            root = ET.fromstring(response.content)
            assert root.tag == "errors" and message in root.find("error/description").text


def test_get_errors_follow_the_spec(case_env: CaseEnv) -> None:
    client = case_env.client
    assert client.get("/open311/v2/requests/999999.json").status_code == 404
    assert client.get("/open311/v2/services/none.json").status_code == 404
    bad = client.get("/open311/v2/requests.json", params={"start_date": "yesterday"})
    assert bad.status_code == 400 and "W3C date-time" in bad.json()[0]["description"]
    assert client.get("/open311/v2/requests.json", params={"status": "pending"}).status_code == 400
    assert client.get("/open311/v2/services.yaml").status_code == 404


def test_real_bloomington_and_san_francisco_files_import_and_read_back(case_env: CaseEnv) -> None:
    env = {
        "GRIDWATCH_DATABASE_URL": case_env.settings.database_url,
        "GRIDWATCH_DATA_DIR": str(case_env.settings.data_dir),
    }
    runner = CliRunner()
    everything = json.loads((OPEN311 / "bloomington_requests.json").read_text())
    # requests given by address only cannot be located offline: they are named, not imported
    source = [r for r in everything if r.get("lat") and r.get("long")]
    assert len(source) < len(everything)
    result = runner.invoke(
        cli,
        [
            "import",
            "open311",
            str(OPEN311 / "bloomington_requests.json"),
            "--source",
            "bloomington",
            "--default-category",
            "garbage_piled",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert (
        f"{len(source)} imported, 0 already there, {len(everything) - len(source)} skipped"
        in result.output
    )
    again = runner.invoke(
        cli,
        [
            "import",
            "open311",
            str(OPEN311 / "bloomington_requests.json"),
            "--source",
            "bloomington",
            "--default-category",
            "garbage_piled",
        ],
        env=env,
    )
    assert f"0 imported, {len(source)} already there" in again.output
    back = case_env.client.get(
        "/open311/v2/requests.json",
        params={"start_date": "2012-01-01T00:00:00Z", "end_date": "2012-12-31T00:00:00Z"},
    ).json()
    valid("requests.json", back)
    by_place = {(round(r["lat"], 7), round(r["long"], 7)): r for r in back}
    for original in source:
        mine = by_place[(round(original["lat"], 7), round(original["long"], 7))]
        assert (mine["description"] or "") == (original["description"] or "")
        assert mine["status"] == original["status"]
        assert mine["requested_datetime"][:16] == _utc(original["requested_datetime"])[:16]
    sf = runner.invoke(
        cli,
        [
            "import",
            "open311",
            str(OPEN311 / "san_francisco_requests.xml"),
            "--source",
            "sf311",
            "--default-category",
            "garbage_piled",
        ],
        env=env,
    )
    assert sf.exit_code == 0, sf.output
    assert (
        "imported" in sf.output and "unusable coordinates" in sf.output
    )  # SF's 0,0 rows are named


def _utc(text: str) -> str:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC).isoformat()


def test_import_refuses_files_it_cannot_read(case_env: CaseEnv, tmp_path: Path) -> None:
    env = {
        "GRIDWATCH_DATABASE_URL": case_env.settings.database_url,
        "GRIDWATCH_DATA_DIR": str(case_env.settings.data_dir),
    }
    (tmp_path / "bad.json").write_text("{not json")
    result = CliRunner().invoke(
        cli,
        ["import", "open311", str(tmp_path / "bad.json"), "--default-category", "garbage_piled"],
        env=env,
    )
    assert result.exit_code == 2 and "not valid JSON" in result.output
