"""One rule for a store that was never initialised: only ``gridwatch init`` creates the schema.

Every other command that needs the store says "run `gridwatch init`", names the
database and exits with status 2 — no traceback, no empty database file left
behind, nothing written — and the service answers 503 with the same advice
until the store is initialised. The commands that need no store say so below;
a command added without an entry here fails ``test_every_command_is_covered``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import typer.main
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from grids.db import shown_url
from tests.conftest import REPO, TAXONOMY, Store, _postgis_schema_url

runner = CliRunner()
OPEN311 = REPO / "data_samples" / "open311" / "bloomington_requests.json"

#: Each command that needs the store, with arguments that are otherwise fine.
STORE_COMMANDS: dict[str, list[str]] = {
    "units city": ["--code", "C", "--name", "城市"],
    "units import": ["{towns}", "--level", "town", "--parent", "C"],
    "taxonomy load": [str(TAXONOMY)],
    "people import": ["{people}"],
    "roster import": ["{rosters}"],
    "samples build": ["--scale", "0.02", "--out", "{tmp}/city"],
    "samples accounts": [],
    "check": [],
    "user create": ["--name", "admin", "--role", "admin"],
    "apikey create": ["--name", "app"],
    "escalate": ["--once"],
    "webhooks deliver": ["--once"],
    "import open311": [str(OPEN311), "--default-category", "garbage_piled"],
    "hotspots": ["--out", "{tmp}/hot.csv"],
    "emerging": ["--out", "{tmp}/emerging.csv"],
    "summary": ["--out", "{tmp}/summary.json"],
    "export cases": ["{tmp}/export"],
    "route": ["{points}", "--out", "{tmp}/routed.csv"],
    "patrol plan": ["--start", "23.02,113.75", "--out", "{tmp}/plan.json"],
    "patrol import-points": ["{patrol_points}"],
    "volunteers import": ["{volunteers}"],
    "volunteers rate": ["--month", "2026-11"],
    "points credit-hours": ["--month", "2026-11"],
    "mall add": ["--code", "CUP", "--name", "保温杯", "--cost", "200", "--stock", "5"],
    "buildings import": ["{buildings}"],
    "operations close": ["OP1"],
    "ledger": ["attendance", "--team", "T1", "--month", "2026-11", "--out", "{tmp}/kq.xlsx"],
}
#: The same commands without the store: given files instead, or asked for nothing from it.
STORELESS = {
    "init": "creates the schema",
    "serve": "answers 503 until init (test_service_answers_503_until_init)",
}


def _commands(command: object, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*prefix, name))
    else:
        yield " ".join(prefix)


def test_every_command_is_covered() -> None:
    commands = set(_commands(typer.main.get_command(app)))
    assert commands == set(STORE_COMMANDS) | set(STORELESS), (
        "add the new command to STORE_COMMANDS (with arguments) or STORELESS"
    )


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, str]:
    """Files every command accepts, so that only the store can be what is wrong."""
    towns = tmp_path / "towns.geojson"
    gpd.GeoDataFrame(
        {"code": ["A"], "name": ["甲"]}, geometry=[shapely.box(113.7, 23.0, 113.8, 23.1)], crs=4326
    ).to_file(towns)
    people = tmp_path / "people.csv"
    people.write_text("code,name,phone,role,unit_code\nP1,张三,13800000000,officer,A\n")
    rosters = tmp_path / "rosters.csv"
    rosters.write_text(
        "person_code,unit_code,weekdays,start,end,valid_from,valid_until\n"
        "P1,A,1234567,08:00,18:00,2026-01-01,\n"
    )
    points = tmp_path / "points.csv"
    points.write_text("lat,lon,occurred_at\n23.02,113.75,2026-11-20T10:00:00+08:00\n")
    patrol_points = tmp_path / "patrol.geojson"
    gpd.GeoDataFrame(
        {"code": ["K1"], "name": ["联防点"], "kind": ["key_point"], "must_visit": [True]},
        geometry=[shapely.Point(113.75, 23.02)],
        crs=4326,
    ).to_file(patrol_points)
    volunteers = tmp_path / "volunteers.csv"
    volunteers.write_text("code,kind,name,phone,unit,team,skills\nV1,义警,王五,,A,,\n")
    buildings = tmp_path / "buildings.csv"
    buildings.write_text(
        "code,name,address,units,lat,lon,head\nB1,幸福楼,幸福路1号,24,23.02,113.75,\n"
    )
    return {
        "volunteers": str(volunteers),
        "buildings": str(buildings),
        "tmp": str(tmp_path),
        "towns": str(towns),
        "people": str(people),
        "rosters": str(rosters),
        "points": str(points),
        "patrol_points": str(patrol_points),
    }


@pytest.fixture(params=["sqlite", "postgis"])
def never_initialised(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Path | None, Callable[[], list[str]]]]:
    """A store nobody ran ``gridwatch init`` on: a SQLite file that does not exist, or an
    empty PostgreSQL schema. Yields its URL, the SQLite path and what tables it holds."""
    if request.param == "sqlite":
        path = tmp_path / "store" / "gridwatch.db"
        yield f"sqlite:///{path}", path, list
        return
    admin: Engine = request.getfixturevalue("postgis_admin")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _postgis_schema_url(schema), None, lambda: inspect(admin).get_table_names(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
def test_a_command_on_a_never_initialised_store_says_run_init(
    command: str,
    never_initialised: tuple[str, Path | None, Callable[[], list[str]]],
    inputs: dict[str, str],
    tmp_path: Path,
) -> None:
    url, sqlite_path, tables = never_initialised
    args = [*command.split(), *(a.format(**inputs) for a in STORE_COMMANDS[command])]
    env = {"GRIDWATCH_DATABASE_URL": url, "GRIDWATCH_DATA_DIR": str(tmp_path / "data")}
    before = set(tmp_path.rglob("*"))
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "run `gridwatch init`" in lines[0] and "is not initialised" in lines[0]
    assert shown_url(url) in lines[0]
    assert "Traceback" not in result.output
    assert set(tmp_path.rglob("*")) == before, "the command wrote something"
    if sqlite_path is not None:
        assert not sqlite_path.exists() and not sqlite_path.parent.exists()
    assert tables() == []


def test_init_creates_the_store_and_then_commands_run(tmp_path: Path) -> None:
    db = tmp_path / "gridwatch.db"
    env = {"GRIDWATCH_DATABASE_URL": f"sqlite:///{db}", "GRIDWATCH_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, ["init"], env=env)
    assert result.exit_code == 0 and "schema at revision" in result.output and db.exists()
    result = runner.invoke(app, ["units", "city", "--code", "C", "--name", "城市"], env=env)
    assert result.exit_code == 0, result.output


def test_a_store_at_an_older_migration_is_refused_until_init(store: Store, tmp_path: Path) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    env = {"GRIDWATCH_DATABASE_URL": store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, ["user", "create", "--name", "a", "--role", "admin"], env=env)
    assert result.exit_code == 2
    assert "is at migration 0001" in result.output and "run `gridwatch init`" in result.output


def test_service_answers_503_until_init(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The service starts on a store that does not exist, answers 503 with what to run (the
    docs still work), creates no database file, and serves once ``gridwatch init`` ran."""
    db = tmp_path / "gridwatch.db"
    settings = Settings(
        database_url=f"sqlite:///{db}",
        data_dir=tmp_path,
        escalation_interval_s=0.05,
        webhook_interval_s=0.05,
        secret_key="s",
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/healthz", "/api/v1/locate?lat=23.02&lon=113.75", "/console"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert "run `gridwatch init`" in response.json()["detail"]
            assert str(db) in response.json()["detail"]
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
        assert not db.exists()
        env = {"GRIDWATCH_DATABASE_URL": settings.database_url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
        assert runner.invoke(app, ["init"], env=env).exit_code == 0
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        no_grids = client.get("/api/v1/locate?lat=23.02&lon=113.75")
        assert no_grids.status_code == 503 and "no grids yet" in no_grids.json()["detail"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "a worker failed"
