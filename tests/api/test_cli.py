"""The command line: routing files exactly, importing, and clear errors with exit status 2."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import SF_DATA, Store

runner = CliRunner()
SF_CASES = SF_DATA / "sf311_cases_sample.csv"


@pytest.fixture(scope="module")
def nhoods(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """San Francisco's census tracts dissolved by neighbourhood (41 multipolygons)."""
    tracts = gpd.read_file(SF_DATA / "sf_census_tracts_2010.geojson")
    path = tmp_path_factory.mktemp("sf") / "nhoods.geojson"
    tracts.dissolve("nhood").reset_index()[["nhood", "geometry"]].to_file(path)
    return path


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], env=env)


def exact_nhood(polygons: gpd.GeoDataFrame, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The covers rule by brute force: interior first, then the first polygon listed."""
    pts = shapely.points(lon, lat)
    answer = np.full(len(pts), None, dtype=object)
    for j in range(len(polygons) - 1, -1, -1):  # earlier polygons overwrite later ones
        answer[shapely.covers(polygons.geometry.values[j], pts)] = polygons.nhood.values[j]
    for j in range(len(polygons) - 1, -1, -1):
        answer[shapely.contains_properly(polygons.geometry.values[j], pts)] = polygons.nhood.values[
            j
        ]
    return answer


def test_route_sf_cases_agrees_with_exact_covers_for_every_point(
    nhoods: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    result = run(
        "route",
        SF_CASES,
        "--lat-col",
        "Lat",
        "--lon-col",
        "Long",
        "--grids",
        nhoods,
        "--grid-id-field",
        "nhood",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    routed = pd.read_csv(out)
    cases = pd.read_csv(SF_CASES)
    assert len(routed) == len(cases) == 4984
    assert list(routed.columns[: len(cases.columns)]) == list(cases.columns)
    want = exact_nhood(gpd.read_file(nhoods), cases.Lat.to_numpy(), cases.Long.to_numpy())
    np.testing.assert_array_equal(routed.grid_id.to_numpy(dtype=object), want)
    assert set(routed["match"]) <= {"inside", "edge"}
    # the city's own neighbourhood column was derived from the same tracts
    assert (routed.grid_id == routed["C.Neighborhood"]).sum() == 4984


def test_route_snaps_and_flags_outside_points_in_parquet(nhoods: Path, tmp_path: Path) -> None:
    points = pd.DataFrame(
        {"lat": [37.7793, 37.8105, 37.70], "lon": [-122.4193, -122.4745, -122.70]}
    )
    # city hall (inside), just off the Presidio shore (snapped), far in the ocean (outside)
    points.to_parquet(tmp_path / "p.parquet")
    out = tmp_path / "out.parquet"
    result = run(
        "route", tmp_path / "p.parquet", "--grids", nhoods, "--grid-id-field", "nhood", "--out", out
    )
    assert result.exit_code == 0, result.output
    routed = pd.read_parquet(out)
    assert routed["match"].tolist()[0] == "inside" and routed["match"].tolist()[2] == "outside"
    assert routed.grid_id.isna().tolist()[2]
    assert routed.snap_distance_m.iloc[0] == 0


def test_route_against_the_store_adds_officer_and_department(
    city_store: Store, sample_city_dir: Path, tmp_path: Path
) -> None:
    reports = pd.read_parquet(sample_city_dir / "reports.parquet").head(3000)
    reports.to_csv(tmp_path / "reports.csv", index=False)
    out = tmp_path / "routed.csv"
    env = {"GRIDWATCH_DATABASE_URL": city_store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    result = run(
        "route",
        tmp_path / "reports.csv",
        "--category-col",
        "category",
        "--time-col",
        "occurred_at",
        "--out",
        out,
        env=env,
    )
    assert result.exit_code == 0, result.output
    routed = pd.read_csv(out)
    assert {
        "grid_id",
        "match",
        "town",
        "officer",
        "department",
        "assignee_kind",
        "fallback",
    } <= set(routed.columns)
    inside = routed[routed["match"] != "outside"]
    assert inside.grid_id.notna().all() and inside.town.notna().all()
    assert routed.department.notna().all()
    assert set(routed.assignee_kind) <= {
        "officer",
        "grid_chief",
        "community",
        "town_dispatch",
        "city_dispatch",
    }
    assert (routed.assignee_kind == "officer").mean() > 0.3
    assert routed[routed.assignee_kind == "officer"].officer.notna().all()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "empty"),
        ("x,y\n1,2\n", [], "lat"),
        ("lat,lon\n23.0,113.7\nnan,113.7\n", [], "row 2"),
        ("lat,lon\n23.0,113.7\n95,113.7\n", [], "outside [-90, 90]"),
        ("lat,lon\n23.0,113.7\n", ["--crs", "mercator"], "unknown coordinate system"),
        ("lat,lon\n23.0,113.7\n", ["--grid-id-field", "missing"], "--grid-id-field 'missing'"),
    ],
)
def test_route_errors_say_what_to_fix(
    nhoods: Path, tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    (tmp_path / "p.csv").write_text(content)
    grid_args = ["--grids", nhoods, "--grid-id-field", "nhood"]
    if "--grid-id-field" in args:
        grid_args = ["--grids", nhoods]
    result = run("route", tmp_path / "p.csv", *grid_args, *args, "--out", tmp_path / "o.csv")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()


def test_route_refuses_invalid_and_empty_polygon_files(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("lat,lon\n0.5,0.5\n")
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.Point(0, 0)], crs=4326).to_file(
        tmp_path / "pts.geojson"
    )
    result = run(
        "route",
        tmp_path / "p.csv",
        "--grids",
        tmp_path / "pts.geojson",
        "--grid-id-field",
        "id",
        "--out",
        tmp_path / "o.csv",
    )
    assert result.exit_code == 2 and "is not a polygon" in result.output
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    result = run(
        "route",
        tmp_path / "p.csv",
        "--grids",
        empty,
        "--grid-id-field",
        "id",
        "--out",
        tmp_path / "o.csv",
    )
    assert result.exit_code == 2 and "no features" in result.output
    # an invalid polygon is repaired (make_valid), not refused: both halves of the bowtie route
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[bowtie], crs=4326).to_file(tmp_path / "bow.geojson")
    (tmp_path / "p.csv").write_text("lat,lon\n0.5,0.2\n0.5,0.8\n")
    result = run(
        "route",
        tmp_path / "p.csv",
        "--grids",
        tmp_path / "bow.geojson",
        "--grid-id-field",
        "id",
        "--out",
        tmp_path / "o.csv",
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "o.csv").grid_id.tolist() == ["a", "a"]


def test_units_import_cli_writes_a_report_and_refuses_bad_files(
    store: Store, tmp_path: Path
) -> None:
    env = {"GRIDWATCH_DATABASE_URL": store.url, "GRIDWATCH_DATA_DIR": str(tmp_path)}
    assert run("units", "city", "--code", "C", "--name", "城市", env=env).exit_code == 0
    towns = gpd.GeoDataFrame(
        {"ID": ["A", "B"], "NAME": ["甲", "乙"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(0.9, 0, 2, 1)],
        crs=4326,
    )
    towns.to_file(tmp_path / "towns.gpkg", layer="towns")
    result = run(
        "units",
        "import",
        tmp_path / "towns.gpkg",
        "--level",
        "town",
        "--layer",
        "towns",
        "--code-field",
        "ID",
        "--name-field",
        "NAME",
        "--report",
        tmp_path / "r.json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "overlapping siblings: 1 pairs" in result.output
    assert '"overlaps"' in (tmp_path / "r.json").read_text()
    result = run(
        "units", "import", tmp_path / "towns.gpkg", "--level", "town", "--layer", "towns", env=env
    )
    assert result.exit_code == 2 and "no attribute 'code'" in result.output


def test_help_has_examples() -> None:
    for command in (["route"], ["units", "import"], ["samples", "build"], ["serve"], ["init"]):
        result = run(*command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output
