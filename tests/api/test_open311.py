"""Open311 GeoReport v2: every response validates against the shared schemas."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import h3
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app as cli
from geo.crs import from_wgs84
from grids.accounts.users import create_api_key
from grids.cases.invariants import check_store
from grids.cases.models import Case, CaseEvent
from grids.city.directory import Directory
from grids.exchange.publication import public_position
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
    for _ in range(4):  # the public listing shows cells of at least 5 cases
        assert client.post("/open311/v2/requests.json", data=form).status_code == 201
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 201, created.text
    request_id = created.json()[0]["service_request_id"]
    one = client.get(f"/open311/v2/requests/{request_id}.json").json()
    valid("requests.json", one)
    assert one[0]["status"] == "open" and one[0]["service_code"] == "garbage_piled"
    assert (one[0]["lat"], one[0]["long"]) == centre(DEMO_LAT, DEMO_LON)
    assert one[0]["agency_responsible"] and one[0]["expected_datetime"]
    assert one[0]["media_url"] is None and one[0]["description"] is None  # not released
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


def centre(lat: float, lon: float) -> tuple[float, float]:
    """Where the public listing puts a report made at (lat, lon): its res-8 cell's centre."""
    return public_position(h3.str_to_int(h3.latlng_to_cell(lat, lon, 12)))


def test_open311_post_honours_crs_like_the_json_api(case_env: CaseEnv, api_key: str) -> None:
    """Issue 9, finding 8: the same GCJ-02 point lands in the same grid through both doors."""
    lat, lon = (float(v) for v in from_wgs84(DEMO_LAT, DEMO_LON, "gcj02"))
    form = {"api_key": api_key, "service_code": "garbage_piled", "lat": str(lat), "long": str(lon)}
    posted = case_env.client.post("/open311/v2/requests.json", data=form | {"crs": "gcj02"})
    assert posted.status_code == 201, posted.text
    json_door = case_env.report(lat=lat, lon=lon, crs="gcj02")
    admin = case_env.headers("admin")
    case = case_env.client.get(
        f"/api/v1/cases/{posted.json()[0]['service_request_id']}", headers=admin
    ).json()
    assert case["routing"]["grid"]["code"] == json_door["routing"]["grid"]["code"]
    assert case["routing"]["grid"]["code"] == case_env.demo_grid
    assert (case["lat"], case["lon"]) == pytest.approx((json_door["lat"], json_door["lon"]))
    assert case["lat"] == pytest.approx(DEMO_LAT, abs=1e-7)
    bad = case_env.client.post("/open311/v2/requests.json", data=form | {"crs": "utm50"})
    assert bad.status_code == 400 and "utm50" in bad.json()[0]["description"]


def test_open311_post_with_a_json_body_says_it_takes_forms(case_env: CaseEnv, api_key: str) -> None:
    body = {"api_key": api_key, "service_code": "garbage_piled", "lat": DEMO_LAT, "long": DEMO_LON}
    for fmt in ("json", "xml"):
        response = case_env.client.post(f"/open311/v2/requests.{fmt}", json=body)
        assert response.status_code == 415, response.text
        text = response.text
        assert "form-encoded" in text and "api_key is required" not in text


def test_public_listing_coarsens_hides_small_cells_and_free_text(
    case_env: CaseEnv, api_key: str
) -> None:
    client = case_env.client
    far_lat, far_lon = case_env.other_point
    base = {"api_key": api_key, "service_code": "garbage_piled", "address_string": "东城大道1号"}
    lonely = client.post(
        "/open311/v2/requests.json",
        data=base | {"lat": str(far_lat), "long": str(far_lon), "description": "张三家门口"},
    ).json()[0]["service_request_id"]
    crowd = [
        client.post(
            "/open311/v2/requests.json",
            data=base
            | {"lat": str(DEMO_LAT), "long": str(DEMO_LON + 1e-5 * i), "description": "李四门口"},
        ).json()[0]["service_request_id"]
        for i in range(5)
    ]
    ids = ",".join([lonely, *crowd])
    for fmt in ("json", "xml"):
        listed = client.get(f"/open311/v2/requests.{fmt}", params={"service_request_id": ids})
        assert listed.status_code == 200
        assert (
            "张三" not in listed.text
            and "李四" not in listed.text
            and "东城大道" not in listed.text
        )
        assert f"{DEMO_LAT:.5f}" not in listed.text
    listed = client.get("/open311/v2/requests.json", params={"service_request_id": ids}).json()
    valid("requests.json", listed)
    shown = {r["service_request_id"]: r for r in listed}
    assert lonely not in shown  # alone in its cell: never listed, not even by id
    assert client.get(f"/open311/v2/requests/{lonely}.json").status_code == 404
    assert set(crowd) <= set(shown)
    assert {(r["lat"], r["long"]) for r in shown.values()} == {centre(DEMO_LAT, DEMO_LON)}
    assert all(r["description"] is None and r["address"] is None for r in shown.values())
    # a dispatcher releases one case's text; an officer may not; the release is audited
    case = client.get(f"/api/v1/cases/{crowd[0]}", headers=case_env.headers("admin")).json()
    officer = case_env.act(case, "publish", who="officer")
    assert officer.status_code == 403
    released = case_env.act(case, "publish", who="dispatcher")
    assert released.status_code == 200, released.text
    history = client.get(
        f"/api/v1/cases/{crowd[0]}/history", headers=case_env.headers("dispatcher")
    ).json()
    assert history[-1]["action"] == "publish" and history[-1]["from"] == history[-1]["to"]
    one = client.get(f"/open311/v2/requests/{crowd[0]}.json").json()[0]
    assert one["description"] == "李四门口" and one["address"] == "东城大道1号"
    assert (one["lat"], one["long"]) == centre(DEMO_LAT, DEMO_LON)  # still coarse
    other = client.get(f"/open311/v2/requests/{crowd[1]}.json").json()[0]
    assert other["description"] is None


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


def import_file(case_env: CaseEnv, path: Path, source: str) -> Any:
    env = {
        "GRIDWATCH_DATABASE_URL": case_env.settings.database_url,
        "GRIDWATCH_DATA_DIR": str(case_env.settings.data_dir),
    }
    args = ["import", "open311", str(path), "--source", source]
    return CliRunner().invoke(cli, [*args, "--default-category", "garbage_piled"], env=env)


def test_another_citys_file_is_refused_row_by_row(case_env: CaseEnv) -> None:
    """Issue 9, finding 9: Bloomington, Indiana, is not in Dongguan; nothing is imported."""
    everything = json.loads((OPEN311 / "bloomington_requests.json").read_text())
    located = [r for r in everything if r.get("lat") and r.get("long")]
    assert len(located) == 13
    result = import_file(case_env, OPEN311 / "bloomington_requests.json", "bloomington")
    assert result.exit_code == 2, result.output
    assert "0 imported, 0 already there, 21 refused" in result.output
    assert "13 outside the service area" in result.output
    assert "6 unusable coordinates" in result.output and "2 no coordinates" in result.output
    first = everything.index(located[0]) + 1
    assert f"row {first} ({located[0]['service_request_id']}): outside the service area" in (
        result.output
    )
    with case_env.store.sessions() as session:
        assert not session.scalars(select(Case).where(Case.external_source == "bloomington")).all()
    sf = import_file(case_env, OPEN311 / "san_francisco_requests.xml", "sf311")
    assert sf.exit_code == 2 and "0 imported" in sf.output and "unusable coordinates" in sf.output


def relocated(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """Bloomington's located requests moved into the demo grid's neighbourhood (their
    spread scaled down), times, ids and statuses as they are."""
    rows = [
        r
        for r in json.loads((OPEN311 / "bloomington_requests.json").read_text())
        if r.get("lat") and r.get("long")
    ]
    lat0, lon0 = rows[0]["lat"], rows[0]["long"]
    for r in rows:
        r["lat"] = DEMO_LAT + (r["lat"] - lat0) * 0.02
        r["long"] = DEMO_LON + (r["long"] - lon0) * 0.02
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path, rows


def test_history_is_imported_with_its_own_status_and_times(
    case_env: CaseEnv, tmp_path: Path
) -> None:
    path, rows = relocated(tmp_path)
    before = dt.datetime.now(dt.UTC)
    result = import_file(case_env, path, "bloomington-moved")
    assert result.exit_code == 0, result.output
    assert "13 imported, 0 already there, 0 refused" in result.output
    again = import_file(case_env, path, "bloomington-moved")
    assert again.exit_code == 0 and "0 imported, 13 already there" in again.output
    with case_env.store.sessions() as session:
        cases = {
            c.external_id: c
            for c in session.scalars(
                select(Case).where(Case.external_source == "bloomington-moved")
            )
        }
        events = {
            c.external_id: session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)
            ).all()
            for c in cases.values()
        }
        violations = check_store(session, Directory.load(session))
    assert len(cases) == 13
    for row in rows:
        item, trail = cases[row["service_request_id"]], events[row["service_request_id"]]
        requested = dt.datetime.fromisoformat(row["requested_datetime"])
        assert _aware(item.reported_at) == requested  # its own time, not the import's
        assert [e.action for e in trail[:2]] == ["report", "route"]
        assert _aware(trail[0].at) == requested
        if row["status"] == "closed":
            updated = dt.datetime.fromisoformat(row["updated_datetime"])
            assert item.status == "closed" and item.next_due is None
            assert _aware(item.closed_at) == updated
            assert trail[-1].action == "import_closed" and _aware(trail[-1].at) == updated
        else:  # open there: ours from the import on, never years overdue
            assert item.status == "routed" and trail[-1].action == "import_open"
            assert _aware(item.next_due) > before and _aware(item.close_due) > before
    assert {r["status"] for r in rows} == {"open", "closed"}
    assert not [v for v in violations if v.case_id in {c.id for c in cases.values()}]
    queue = case_env.client.get(
        "/api/v1/cases", params={"overdue": "true"}, headers=case_env.headers("admin")
    ).json()
    assert not {c["id"] for c in queue["cases"]} & {c.id for c in cases.values()}
    refused = case_env.client.post(
        f"/api/v1/cases/{next(iter(cases.values())).id}/import_closed",
        json={},
        headers=case_env.headers("admin"),
    )
    assert refused.status_code == 403 and "importer only" in refused.json()["detail"]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
