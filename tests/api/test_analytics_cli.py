"""gridwatch hotspots / emerging / summary: files and the store in, tables and maps out,
bad input as one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from api.cli import analytics as cli
from geo.aggregate import complete_field, counts_per_cell, study_area_cells
from geo.emerging import emerging_hotspots
from geo.h3cells import grid_disks, latlng_to_cells
from geo.hotspots import hotspot_table
from geo.maps.pages import external_links
from grids.analytics.summaries import summarise
from grids.city.directory import Directory
from tests.analytics_support import SUMMARY_DAY, TZ, make_history, samples_dir_for
from tests.conftest import Store

runner = CliRunner()
COLUMNS = ["cell", "count", "gi_z", "gi_p", "gi_p_fdr", "class"]


def commands() -> typer.Typer:
    """The analytics commands as the gridwatch CLI registers them."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("hotspots")(cli.hotspots)
    app.command("emerging")(cli.emerging)
    app.command("summary")(cli.summary)
    return app


APP = commands()


def run(*args: object, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(APP, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def points(sample_city_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a year of the sample city's reports as a CSV, times in UTC (ISO 8601)."""
    reports = pd.read_parquet(sample_city_dir / "reports.parquet")
    path = tmp_path_factory.mktemp("points") / "reports.csv"
    reports[reports["occurred_at"] >= "2026-05-01"].to_csv(path, index=False)
    return path


def test_hotspots_from_a_file_write_every_cell(points: Path, tmp_path: Path) -> None:
    out = tmp_path / "hot.csv"
    result = run("hotspots", points, "--res", 8, "--k", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert "cells" in result.output and str(out) in result.output
    table = pd.read_csv(out, dtype={"cell": str})
    assert list(table.columns) == COLUMNS
    frame = pd.read_csv(points)
    cells = latlng_to_cells(frame["lat"].to_numpy(), frame["lon"].to_numpy(), 12)
    held, counts = counts_per_cell(cells, 8)
    field, values = complete_field(grid_disks(held, 2), held, counts)
    want = hotspot_table(field, values, k=2)
    assert table["cell"].tolist() == want["cell"].tolist()
    assert (table["count"] == 0).any() and table["count"].sum() == len(frame)
    assert np.allclose(table["gi_z"], want["gi_z"], atol=1e-9)
    seeded = ("--inference", "permutation", "--permutations", 99, "--seed", 3)
    result = run("hotspots", points, "--res", 8, "--k", 2, *seeded, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"cell": str})
    want = hotspot_table(field, values, k=2, permutations=99, seed=3)
    assert list(table.columns) == [*COLUMNS, "gi_p_sim"]
    assert np.allclose(table["gi_p_sim"], want["gi_p_sim"])
    assert table["class"].tolist() == want["class"].tolist()
    bad = run("hotspots", points, "--inference", "bayes", "--out", tmp_path / "bad.csv")
    assert bad.exit_code == 2 and "inference must be one of normal, permutation" in bad.output


def test_filters_study_area_and_formats_agree(
    points: Path, sample_city_dir: Path, tmp_path: Path
) -> None:
    common = [
        "--res",
        8,
        "--grids",
        sample_city_dir / "city.gpkg",
        "--layer",
        "towns",
        "--time-col",
        "occurred_at",
        "--since",
        "2026-09-01",
        "--until",
        "2026-10-01",
        "--category",
        "garbage_piled",
    ]
    outputs = {}
    for suffix in (".csv", ".parquet", ".geojson"):
        out = tmp_path / f"hot{suffix}"
        result = run("hotspots", points, *common, "--out", out)
        assert result.exit_code == 0, result.output
        outputs[suffix] = out
    table = pd.read_csv(outputs[".csv"], dtype={"cell": str})
    parquet = pd.read_parquet(outputs[".parquet"])
    pd.testing.assert_frame_equal(table, parquet, check_dtype=False)
    geo = json.loads(outputs[".geojson"].read_text())
    assert [f["properties"]["cell"] for f in geo["features"]] == table["cell"].tolist()
    frame = pd.read_csv(points, parse_dates=["occurred_at"])
    local = frame["occurred_at"].dt.tz_convert(TZ)
    chosen = frame[
        (local >= "2026-09-01") & (local < "2026-10-01") & (frame["category"] == "garbage_piled")
    ]
    assert table["count"].sum() == len(chosen) == geo["reports"]
    towns = gpd.read_file(sample_city_dir / "city.gpkg", layer="towns")
    area = study_area_cells(towns.union_all(), 8)
    assert set(area) <= {int(c, 16) for c in table["cell"]}


def test_html_map_comes_with_its_scripts(points: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    result = run("hotspots", points, "--res", 7, "--out", out, "--basemap", "none", "--lang", "en")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert external_links(html, "map_files/") == []
    assert "map_files/vendor/leaflet-1.9.4/leaflet.js" in html and "Hot spots (Gi*)" in html
    assert (tmp_path / "map_files/vendor/leaflet-1.9.4/leaflet.js").exists()


def test_emerging_from_a_file(points: Path, tmp_path: Path) -> None:
    out = tmp_path / "emerging.csv"
    months = run(
        "emerging", points, "--res", 7, "--freq", "month", "--time-col", "occurred_at", "--out", out
    )  # seven months: below the 10 time steps of Emerging Hot Spot Analysis
    assert months.exit_code == 2 and "at least 10 time steps" in months.output, months.output
    assert "spans 7 months" in months.output and not out.exists()
    result = run(
        "emerging", points, "--res", 7, "--freq", "week", "--time-col", "occurred_at", "--out", out
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"cell": str})
    assert list(table.columns) == cli.EMERGING_COLUMNS
    frame = pd.read_csv(points, parse_dates=["occurred_at"])
    cells = latlng_to_cells(frame["lat"].to_numpy(), frame["lon"].to_numpy(), 12)
    held, _ = counts_per_cell(cells, 7)
    want = emerging_hotspots(
        cells, frame["occurred_at"], res=7, freq="W", area_cells=grid_disks(held, 1), tz=TZ
    )
    assert table["pattern"].tolist() == want["pattern"].tolist()
    assert table["count"].sum() == len(frame) and (table["n_bins"] == want["n_bins"]).all()


@pytest.mark.parametrize("city_store", ["sqlite"], indirect=True)
def test_the_store_and_the_summary(
    city_store: Store, sample_city_dir: Path, tmp_path: Path
) -> None:
    make_history(city_store, sample_city_dir, per_week=16)
    env = {
        "GRIDWATCH_DATABASE_URL": city_store.url,
        "GRIDWATCH_DATA_DIR": str(tmp_path / "var"),
        "GRIDWATCH_SAMPLES_DIR": str(samples_dir_for(sample_city_dir, tmp_path)),
    }
    cases = tmp_path / "cases.geojson"
    window = ("--since", "2026-10-26", "--until", "2026-11-16")
    coarse = run("hotspots", "--res", 4, *window, "--out", cases, env=env)
    assert coarse.exit_code == 2 and "reports in at least 30 cells" in coarse.output
    assert not cases.exists()
    result = run(
        "hotspots",
        "--res",
        9,
        "--since",
        "2026-10-26",
        "--until",
        "2026-11-16",
        "--out",
        cases,
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(cases.read_text())["source"] == "cases"
    asked = run("emerging", "--res", 7, "--source", "samples", "--out", tmp_path / "s.csv", env=env)
    assert asked.exit_code == 2 and "No such option: --source" in asked.output  # one source
    out = {s: tmp_path / f"summary{s}" for s in (".json", ".csv", ".html")}
    for path in out.values():
        result = run("summary", "--period", "week", "--date", SUMMARY_DAY, "--out", path, env=env)
        assert result.exit_code == 0, result.output
    with city_store.sessions() as session:
        want = summarise(session, Directory.load(session), period="week", day=SUMMARY_DAY, tz=TZ)
    assert json.loads(out[".json"].read_text()) == want
    assert "counts,received," + str(want["counts"]["received"]) in out[".csv"].read_text()
    assert "<svg" in out[".html"].read_text()
    unknown = run("hotspots", "--unit", "XX99", "--out", tmp_path / "x.csv", env=env)
    assert unknown.exit_code == 2 and "no unit with code 'XX99'" in unknown.output
    unknown = run("hotspots", "--category", "ufo", "--out", tmp_path / "x.csv", env=env)
    assert unknown.exit_code == 2 and "unknown category 'ufo'; use one of" in unknown.output
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--res", "3"], "res must be an H3 resolution from 4 to 12"),
        (["--res", "13"], "res must be"),
        (["--k", "4"], "must be 1, 2 or 3"),
        (["--kernel", "box"], "unknown kernel 'box'"),
        (["--since", "2026-13-01", "--time-col", "occurred_at"], "is not a date or time"),
        (["--since", "2026-10-01", "--time-col", "category"], "has no valid time in 'category'"),
        (["--time-col", "when"], "--time-col 'when' is not a column"),
        (["--category", "ufo_sighting"], "no point of reports.csv passes the filters"),
        (["--lat-col", "latitude"], "has no 'latitude' column"),
        (["--crs", "mars2000"], "unknown coordinate system"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    points: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    out = tmp_path / "out.csv"
    result = run("hotspots", points, *args, "--out", out)
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_bad_files_are_refused(points: Path, sample_city_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("lat,lon\n")
    no_times = tmp_path / "no_times.csv"
    no_times.write_text("lat,lon\n23.02,113.75\n")
    cases = [
        (["hotspots", empty, "--out", tmp_path / "a.csv"], "is empty"),
        (["hotspots", header_only, "--out", tmp_path / "a.csv"], "has no data rows"),
        (["hotspots", tmp_path / "missing.csv", "--out", tmp_path / "a.csv"], "file not found"),
        (["hotspots", points, "--out", tmp_path / "a.xlsx"], "write one of .csv, .parquet"),
        (["hotspots", points, "--out", tmp_path / "nowhere" / "a.csv"], "does not exist"),
        (
            [
                "hotspots",
                points,
                "--grids",
                sample_city_dir / "city.gpkg",
                "--layer",
                "patrol_points",
                "--out",
                tmp_path / "a.csv",
            ],
            "--grids must be a polygon file",
        ),
        (["emerging", no_times, "--out", tmp_path / "a.csv"], "need the time of each point"),
        (
            [
                "emerging",
                points,
                "--time-col",
                "occurred_at",
                "--freq",
                "hour",
                "--out",
                tmp_path / "a.csv",
            ],
            "freq must be one of day, week, month",
        ),
        (["summary", "--period", "year", "--out", tmp_path / "s.json"], "period must be one of"),
        (["summary", "--out", tmp_path / "s.pdf"], "write one of .html, .json, .csv"),
    ]
    env = {"GRIDWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    for args, fragment in cases:
        result = run(*args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert fragment in result.output, (args, result.output)


def test_help_has_an_example() -> None:
    for command in ("hotspots", "emerging", "summary"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output, command
