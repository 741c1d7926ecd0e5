"""What a new user meets first: the CLI answers at once, the defaults never point into
site-packages, and every bad input below is one line that says what to fix (exit status 2,
or a 4xx), never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import api.settings
import grids.samples.sources as sources
from api.app import create_app
from api.errors import validation_message
from api.settings import Settings
from tests.conftest import Store

runner = CliRunner()
UNCLOSED = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "A", "name": "甲"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"code": "B", "name": "乙"},
            "geometry": {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1]]]},
        },
    ],
}


def run(*args: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    from api.cli import app

    return runner.invoke(app, [str(a) for a in args], env=env)


def one_line_error(result, fragment: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert fragment in lines[0], result.output
    assert "Traceback" not in result.output and "Warning" not in result.output


@pytest.fixture
def squares(tmp_path: Path) -> Path:
    """Two unit squares side by side, ids A and B."""
    path = tmp_path / "squares.geojson"
    gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["甲", "乙"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)],
        crs=4326,
    ).to_file(path)
    return path


# --------------------------------------------------------------------------- start-up


def test_the_cli_loads_nothing_heavy_before_parsing() -> None:
    """``gridwatch --help`` imports neither pandas, SQLAlchemy, FastAPI nor folium (its speed
    is measured by ``make bench``, benchmarks/cli_startup.py)."""
    code = (
        "import sys\n"
        "sys.argv = ['gridwatch', '--help']\n"
        "from api.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'sqlalchemy', 'fastapi', 'folium', 'numpy', 'geopandas', 'pydantic',\n"
        "         'dask', 'distributed')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage: gridwatch" in done.stdout
    assert "LOADED []" in done.stdout


def test_default_directories_outside_a_checkout_are_per_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An installed gridwatch (no data_samples/ beside its packages) keeps its store, caches
    and generated samples in the per-user data directory, never in site-packages."""
    monkeypatch.setattr(api.settings, "CHECKOUT_DIR", tmp_path / "site-packages" / "data_samples")
    for name in ("GRIDWATCH_DATA_DIR", "GRIDWATCH_DATABASE_URL", "GRIDWATCH_SAMPLES_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = Settings(_env_file=None)
    assert settings.data_dir == tmp_path / "xdg" / "gridwatch"
    assert settings.database_url == f"sqlite:///{tmp_path / 'xdg' / 'gridwatch' / 'gridwatch.db'}"
    assert settings.samples_dir == tmp_path / "xdg" / "gridwatch" / "samples"
    monkeypatch.setenv("GRIDWATCH_DATA_DIR", str(tmp_path / "mine"))
    assert (
        Settings(_env_file=None).database_url == f"sqlite:///{tmp_path / 'mine' / 'gridwatch.db'}"
    )


def test_in_a_checkout_the_defaults_are_its_var_and_data_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GRIDWATCH_DATA_DIR", "GRIDWATCH_DATABASE_URL", "GRIDWATCH_SAMPLES_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.data_dir == sources.CHECKOUT_DIR.parent / "var"
    assert settings.samples_dir == sources.CHECKOUT_DIR


def test_sample_sources_come_from_the_package_without_a_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    packaged = tmp_path / "grids" / "samples" / "data"
    packaged.mkdir(parents=True)
    (packaged / sources.TAXONOMY).write_text("[[department]]\n")
    monkeypatch.setattr(sources, "CHECKOUT_DIR", tmp_path / "no-checkout")
    monkeypatch.setattr(sources, "PACKAGED_DIR", packaged)
    assert sources.source_path(sources.TAXONOMY, tmp_path / "empty") == packaged / sources.TAXONOMY
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / sources.TAXONOMY).write_text("[[department]]\n")
    assert sources.source_path(sources.TAXONOMY, mine) == mine / sources.TAXONOMY


def test_samples_build_without_its_sources_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sources, "CHECKOUT_DIR", tmp_path / "no-checkout")
    monkeypatch.setattr(sources, "PACKAGED_DIR", tmp_path / "no-package-data")
    env = {"GRIDWATCH_DATA_DIR": str(tmp_path), "GRIDWATCH_SAMPLES_DIR": str(tmp_path / "s")}
    result = run("samples", "build", "--scale", "0.02", env=env)
    one_line_error(result, "the sample city's source dongguan_towns.geojson is missing")
    assert "GRIDWATCH_SAMPLES_DIR" in result.output


# --------------------------------------------------------------------------- polygon files


def test_route_against_a_file_of_points_is_one_line(tmp_path: Path) -> None:
    points = tmp_path / "pts.csv"
    points.write_text("lat,lon\n0.5,0.5\n")
    result = run("route", points, "--grids", points, "--out", tmp_path / "o.csv")
    one_line_error(result, "points are not polygons")
    assert not (tmp_path / "o.csv").exists()


def test_units_import_of_a_file_of_points_is_one_line(store: Store, tmp_path: Path) -> None:
    env = {"GRIDWATCH_DATABASE_URL": store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    assert run("units", "city", "--code", "C", "--name", "城市", env=env).exit_code == 0
    points = tmp_path / "pts.csv"
    points.write_text("code,name,lat,lon\nA,甲,23.0,113.7\n")
    result = run("units", "import", points, "--level", "town", env=env)
    one_line_error(result, "points are not polygons")


def test_an_unclosed_ring_names_its_feature_without_gdal_warnings(
    store: Store, tmp_path: Path
) -> None:
    grids = tmp_path / "unclosed.geojson"
    grids.write_text(json.dumps(UNCLOSED))
    (tmp_path / "p.csv").write_text("lat,lon\n0.5,0.5\n")
    route = run("route", tmp_path / "p.csv", "--grids", grids, "--out", tmp_path / "o.csv")
    one_line_error(route, "feature 2 (code 'B'): Points of LinearRing do not form a closed")
    assert "Non closed ring" not in route.output
    env = {"GRIDWATCH_DATABASE_URL": store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    assert run("units", "city", "--code", "C", "--name", "城市", env=env).exit_code == 0
    imported = run("units", "import", grids, "--level", "town", "--parent", "C", env=env)
    one_line_error(imported, "feature 2 (code 'B')")


# --------------------------------------------------------------------------- point files


def test_semicolon_csv_with_decimal_commas_routes(squares: Path, tmp_path: Path) -> None:
    points = tmp_path / "pts.csv"
    points.write_text("id;lat;lon\np1;0,5;0,5\np2;0,5;1,5\n")
    out = tmp_path / "o.csv"
    result = run("route", points, "--grids", squares, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["grid_id"].tolist() == ["A", "B"]
    given = run("route", points, "--grids", squares, "--sep", ";", "--decimal", ",", "--out", out)
    assert given.exit_code == 0, given.output


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        ("id;lat;lon\np1;0,5;0,5\n", ["--sep", ","], "pass --lat-col/--lon-col"),
        ("id;lat;lon\np1;0,5;0,5\n", ["--sep", ","], "pass --sep"),
        ("id;lat;lon\np1;0,5;0,5\n", ["--decimal", "."], "pass --decimal ','"),
        ("x,y\n0.5,0.5\n", [], "pass --lat-col/--lon-col to name them"),
    ],
)
def test_csv_errors_name_the_cli_options(
    squares: Path, tmp_path: Path, content: str, args: list[str], fragment: str
) -> None:
    points = tmp_path / "pts.csv"
    points.write_text(content)
    result = run("route", points, "--grids", squares, *args, "--out", tmp_path / "o.csv")
    one_line_error(result, fragment)
    assert "lat_col=" not in result.output and "decimal=" not in result.output


def test_emerging_recognises_occurred_at(sample_city_dir: Path, tmp_path: Path) -> None:
    """The README's ``gridwatch emerging reports.csv --res 9 --freq week``, as written."""
    reports = pd.read_parquet(sample_city_dir / "reports.parquet")
    path = tmp_path / "reports.csv"
    reports.to_csv(path, index=False)
    out = tmp_path / "emerging.csv"
    result = run("emerging", path, "--res", "9", "--freq", "week", "--out", out)
    assert result.exit_code == 0, result.output
    assert "pattern" in pd.read_csv(out).columns
    bare = tmp_path / "bare.csv"
    reports[["lat", "lon"]].to_csv(bare, index=False)
    missing = run("emerging", bare, "--res", "9", "--out", tmp_path / "e2.csv")
    one_line_error(missing, "name its time column with --time-col")


# --------------------------------------------------------------------------- the service


def test_validation_errors_are_one_string_naming_the_field() -> None:
    errors = [
        {"type": "float_parsing", "loc": ("query", "lat"), "msg": "Input should be a valid number", "input": "abc"},
        {"type": "missing", "loc": ("query", "lon"), "msg": "Field required", "input": None},
        {"type": "string_too_long", "loc": ("body", "teams", 0, "name"), "msg": "String should have at most 100 characters", "input": "x" * 101},
        {"type": "json_invalid", "loc": ("body", 12), "msg": "JSON decode error", "input": {}, "ctx": {"error": "Expecting value"}},
    ]  # fmt: skip
    assert validation_message(errors) == (
        "lat: Input should be a valid number (got 'abc'); lon: Field required; "
        f"teams[0].name: String should have at most 100 characters (got {'x' * 101!r}); "
        "the body is not valid JSON (Expecting value)"
    )


@pytest.fixture
def client(store: Store, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=store.url,
        data_dir=tmp_path,
        escalation_interval_s=0,
        webhook_interval_s=0,
        secret_key="s",
        max_json_mb=1,
    )
    return TestClient(create_app(settings))


def test_json_bodies_have_their_own_small_limit(client: TestClient) -> None:
    big = b'{"team": "T", "checkins": [' + b'{"member": "M"},' * 70_000 + b'{"member": "M"}]}'
    assert len(big) > 1024 * 1024
    for path, body in (
        ("/api/v1/cases", big),  # a declared length: refused before anything runs
        ("/api/v1/patrols/checkins", iter([big[:1000], big[1000:]])),  # chunked, as read
    ):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, path
        detail = response.json()["detail"]
        assert "larger than 1 MB" in detail and "GRIDWATCH_MAX_JSON_MB" in detail
    malformed = client.post(
        "/api/v1/patrols/checkins", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code in (401, 422)
    photos = client.post(
        "/api/v1/cases",
        files={"photos": ("a.jpg", b"x" * (1024 * 1024 + 10), "image/jpeg")},
        data={"report": "{}"},
    )
    assert photos.status_code != 413  # multipart: the photo limit, not the JSON one


def test_a_role_that_may_not_is_named_with_its_article() -> None:
    from grids.accounts.models import User
    from grids.accounts.users import Forbidden
    from grids.cases.intake import require_role

    with pytest.raises(Forbidden, match=r"^an officer may not do this"):
        require_role(User(role="officer"), "dispatcher")
    with pytest.raises(Forbidden, match=r"^a planner may not do this"):
        require_role(User(role="planner"), "dispatcher")


def test_the_readme_lists_every_setting() -> None:
    from api.analytics_deps import AnalyticsSettings
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = {
        name
        for line in section.splitlines()
        if line.startswith("| `GRIDWATCH_")
        for name in re.findall(r"`(GRIDWATCH_[A-Z0-9_]+)`", line.split("|")[1])
    }
    read = {
        f"GRIDWATCH_{name.upper()}"
        for cls in (Settings, AnalyticsSettings)
        for name in cls.model_fields
    }
    assert listed == read
