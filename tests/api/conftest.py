"""Fixtures for the case loop: an app on the sample city with users of every role."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely.geometry
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from grids.accounts.users import create_user
from grids.city.models import Assignment, Person, Unit
from grids.samples import DEMO_LAT, DEMO_LON
from tests.analytics_support import samples_dir_for
from tests.conftest import Store


@dataclass
class CaseEnv:
    """An app on the small sample city and a token per kind of user."""

    store: Store
    settings: Settings
    client: TestClient
    tokens: dict[str, str]
    demo_grid: str
    other_grid: str
    other_point: tuple[float, float]

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}

    def report(self, who: str = "citizen", **fields: Any) -> dict[str, Any]:
        body = {
            "lat": DEMO_LAT,
            "lon": DEMO_LON,
            "category": "garbage_piled",
            "description": "垃圾堆积",
            "reporter": {"id": "wx-001", "name": "张三", "phone": "13800001111"},
            **fields,
        }
        response = self.client.post("/api/v1/cases", json=body, headers=self.headers(who))
        assert response.status_code == 201, response.text
        return response.json()

    def act(self, case: dict[str, Any], action: str, who: str = "officer", **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/cases/{case['id']}/{action}",
            json={"version": case["version"], **body},
            headers=self.headers(who),
        )


def make_users(store: Store, demo_grid: str, other_grid: str) -> dict[str, str]:
    """Users of every role: 'officer' leads the demo grid (the chief of its community, so
    acts on its cases whoever is on duty), 'stranger' is an officer of another town's grid."""
    with store.transaction() as session:
        demo = session.scalar(select(Unit).where(Unit.code == demo_grid))
        other = session.scalar(select(Unit).where(Unit.code == other_grid))
        assert demo is not None and other is not None
        town = demo.parent.parent if demo.parent and demo.parent.parent else demo.parent
        other_town = other.parent.parent
        assert town is not None and other_town is not None

        def person_of(unit: Unit | None, role: str) -> str:
            assert unit is not None
            person = session.scalar(
                select(Person.code)
                .join(Assignment, Assignment.person_id == Person.id)
                .where(Assignment.unit_id == unit.id, Assignment.role == role)
                .order_by(Person.code)
            )
            assert person is not None
            return person

        specs = {
            "admin": ("admin", None, None),
            "dispatcher": ("dispatcher", town.code, None),
            "far_dispatcher": ("dispatcher", other_town.code, None),
            "officer": ("officer", None, person_of(demo.parent, "chief")),
            "stranger": ("officer", None, person_of(other, "officer")),
            "citizen": ("reporter", None, None),
            "other_citizen": ("reporter", None, None),
            "planner": ("planner", None, None),
        }
        return {
            who: create_user(session, who, role, scope_code=scope, person_code=person)[1]
            for who, (role, scope, person) in specs.items()
        }


@pytest.fixture(scope="module")
def case_env(
    city_store: Store, sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CaseEnv]:
    yield from case_env_on(city_store, sample_city_dir, tmp_path_factory)


def case_env_on(
    city_store: Store, sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CaseEnv]:
    """A :class:`CaseEnv` on a store that holds the sample city."""
    tmp = tmp_path_factory.mktemp("data")
    settings = Settings(
        database_url=city_store.url,
        data_dir=tmp,
        samples_dir=samples_dir_for(sample_city_dir, tmp),  # the small city's reports
        escalation_interval_s=0,
        webhook_interval_s=0,
        max_photo_mb=2,
        secret_key="test-secret",
    )
    with TestClient(create_app(settings)) as client:
        demo = client.get("/api/v1/locate", params={"lat": DEMO_LAT, "lon": DEMO_LON}).json()
        demo_grid = demo["grid"]["code"]
        other_town = next(
            t
            for t in client.get("/api/v1/grids", params={"level": "town"}).json()["features"]
            if t["id"] != demo["town"]["code"]
        )["id"]
        grids = client.get("/api/v1/grids").json()["features"]
        other = next(g for g in grids if g["id"].startswith(other_town + "-"))
        point = shapely.geometry.shape(other["geometry"]).representative_point()
        tokens = make_users(city_store, demo_grid, other["id"])
        yield CaseEnv(
            city_store, settings, client, tokens, demo_grid, other["id"], (point.y, point.x)
        )


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG carrying EXIF with a GPS block and a camera model."""
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[0x8825] = {1: "N", 2: (23.0, 1.0, 12.0), 3: "E", 4: (113.0, 45.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def photo_bytes() -> bytes:
    return jpeg_with_gps()


def photo_path(settings: Settings, relative: str) -> Path:
    return settings.photo_dir / relative


@dataclass
class Community:
    env: CaseEnv
    town: str
    community: str
    town_id: int
    team: str

    def headers(self, who: str) -> dict[str, str]:
        return self.env.headers(who)

    def get(self, path: str, who: str = "admin", **params: Any) -> Any:
        return self.env.client.get(path, params=params, headers=self.headers(who))

    def post(self, path: str, who: str = "admin", body: Any = None, **params: Any) -> Any:
        return self.env.client.post(path, json=body, params=params, headers=self.headers(who))

    def volunteer(self, code: str, **fields: Any) -> dict[str, Any]:
        body = {
            "code": code,
            "kind": "义警",
            "name": f"王{code}",
            "phone": "13900000000",
            "unit": self.community,
            "team": self.team,
            **fields,
        }
        response = self.post("/api/v1/volunteers", "admin", body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def com(case_env: CaseEnv) -> Iterator[Community]:
    with case_env.store.transaction() as session:
        demo = session.scalar(select(Unit).where(Unit.code == case_env.demo_grid))
        assert demo is not None and demo.parent is not None and demo.parent.parent is not None
        town, community = demo.parent.parent, demo.parent
        _, token = create_user(session, "义警队长", "patrol_leader", scope_code=town.code)
        case_env.tokens["leader"] = token
        town_code, community_code, town_id = town.code, community.code, town.id
    team = case_env.client.post(
        "/api/v1/patrols/teams",
        json={"code": "VT1", "name": "志愿巡逻队", "town": town_code},
        headers=case_env.headers("admin"),
    )
    assert team.status_code == 201, team.text
    yield Community(case_env, town_code, community_code, town_id, "VT1")


def local_month(at: dt.datetime) -> str:
    """The month of a moment in the sample city's time zone (YYYY-MM)."""
    return at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
