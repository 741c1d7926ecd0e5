"""gridwatch export cases, and hotspots/emerging --engine dask: the exported history counted on
a Dask cluster gives byte for byte the tables of the in-memory engine on the store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from distributed import LocalCluster
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import analytics, export
from grids.analytics.export import EXPORT_SCHEMA
from grids.cases.models import Case
from tests.conftest import HistoryCity

runner = CliRunner()
IDENTITY = {"reporter_id", "contact", "submitted_by_id", "description", "lat", "lon", "geom"}


def commands() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.add_typer(export.app, name="export")
    app.command("hotspots")(analytics.hotspots)
    app.command("emerging")(analytics.emerging)
    return app


APP = commands()


def run(env: dict[str, str], *args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(APP, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two in-process workers (threads), as small as a real cluster gets."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as local:
        yield local


def env_of(city: HistoryCity, tmp_path: Path) -> dict[str, str]:
    return {"GRIDWATCH_DATABASE_URL": city.store.url, "GRIDWATCH_DATA_DIR": str(tmp_path / "var")}


@pytest.fixture
def exported(history_city: HistoryCity, tmp_path: Path) -> Path:
    out = tmp_path / "history"
    result = run(env_of(history_city, tmp_path), "export", "cases", out)
    assert result.exit_code == 0, result.output
    return out


def test_export_writes_a_month_per_partition_without_identity(
    history_city: HistoryCity, exported: Path, tmp_path: Path
) -> None:
    months = sorted(p.name for p in exported.iterdir())
    assert len(months) >= 12 and all(m.startswith("month=") for m in months)
    table = pq.read_table(exported).to_pandas()  # hive partitions: the month is a column
    assert list(table.columns) == [*EXPORT_SCHEMA.names, "month"]
    assert not IDENTITY & set(table.columns)
    with history_city.store.sessions() as session:
        assert len(table) == session.scalar(select(func.count()).select_from(Case)) > 1000
    local = table["reported_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m")
    assert (local == table["month"].astype(str)).all()
    assert table["counted"].sum() < len(table)  # the history has rejected and duplicate cases
    assert table["cell"].dtype == "int64" and table["grid_code"].notna().any()

    env = env_of(history_city, tmp_path)
    again = run(env, "export", "cases", exported)
    assert again.exit_code == 2 and "is not empty" in again.output and "--force" in again.output
    window = ("--since", "2026-06-01", "--until", "2026-07-01")
    forced = run(env, "export", "cases", exported, *window, "--force")
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in exported.iterdir()) == ["month=2026-06"]


def test_export_from_a_store_never_initialised_says_run_init(tmp_path: Path) -> None:
    env = {"GRIDWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    result = run(env, "export", "cases", tmp_path / "out")
    assert result.exit_code == 2 and "gridwatch init" in result.output
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "out").exists()


CASES = [
    ("hotspots", "--res", 9, "--k", 1),
    ("hotspots", "--res", 8, "--k", 2, "--kernel", "gaussian", "--since", "2026-03-01"),
    ("hotspots", "--res", 9, "--unit", "@town", "--since", "2026-05-01", "--until", "2026-09-01"),
    ("emerging", "--res", 8, "--freq", "week"),
    ("emerging", "--res", 7, "--freq", "month", "--since", "2026-01-01", "--until", "2026-11-01"),
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: "-".join(map(str, a)))
def test_dask_engine_equals_the_memory_engine(
    history_city: HistoryCity,
    exported: Path,
    cluster: LocalCluster,
    tmp_path: Path,
    args: tuple[object, ...],
) -> None:
    env = env_of(history_city, tmp_path)
    if "@town" in args:  # the town with the most cases
        table = pq.read_table(exported, columns=["town_code"]).to_pandas()
        args = tuple(table["town_code"].mode()[0] if a == "@town" else a for a in args)
    outputs = {}
    for engine in ("memory", "dask"):
        out = {s: tmp_path / f"{engine}{s}" for s in (".csv", ".parquet")}
        extra = ("--from", exported, "--scheduler", cluster.scheduler_address)
        for path in out.values():
            result = run(
                env, *args, "--engine", engine, *(extra if engine == "dask" else ()), "--out", path
            )
            assert result.exit_code == 0, result.output
        outputs[engine] = out
    assert outputs["dask"][".csv"].read_bytes() == outputs["memory"][".csv"].read_bytes()
    memory = pd.read_parquet(outputs["memory"][".parquet"])
    pd.testing.assert_frame_equal(pd.read_parquet(outputs["dask"][".parquet"]), memory)
    assert memory["count"].sum() > 100  # not two empty fields
    if args[0] == "hotspots":
        assert (memory["class"] != memory["class"].iloc[0]).any()  # some cells are hot or cold
    else:
        assert (memory["pattern"] != "no_pattern").any()


def test_dask_engine_starts_its_own_local_cluster(
    history_city: HistoryCity, exported: Path, tmp_path: Path
) -> None:
    env = env_of(history_city, tmp_path)
    mem, dask = tmp_path / "m.csv", tmp_path / "d.csv"
    assert run(env, "hotspots", "--res", 9, "--out", mem).exit_code == 0
    own = ("--engine", "dask", "--from", exported, "--workers", 2)
    result = run(env, "hotspots", "--res", 9, *own, "--out", dask)
    assert result.exit_code == 0, result.output
    assert dask.read_bytes() == mem.read_bytes()


def test_engine_options_that_do_not_go_together(
    history_city: HistoryCity, exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_of(history_city, tmp_path)
    out = ("--out", tmp_path / "x.csv")
    cases = [
        (("--engine", "dask"), "--engine dask needs --from DIR"),
        (("--engine", "spark"), "--engine must be one of memory, dask"),
        (("--from", exported), "go with --engine dask"),
        (("--engine", "dask", "--from", tmp_path), "holds no exported history"),
    ]
    for args, message in cases:
        result = run(env, "hotspots", *args, *out)
        assert result.exit_code == 2 and message in result.output, result.output
    monkeypatch.setitem(sys.modules, "distributed", None)  # as without the extra
    result = run(env, "hotspots", "--engine", "dask", "--from", exported, *out)
    assert result.exit_code == 2 and "install gridwatch[dask]" in result.output
