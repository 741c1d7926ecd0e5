"""The community commands on a city store: volunteers import (all or nothing, the rejected
rows named), ratings, points, the mall, buildings, closing an operation and the ledgers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from grids.city.models import Unit
from grids.community.models import Building, MallItem, Operation, Rating, Volunteer
from grids.community.operations import PointIn, ShiftIn, create_operation
from grids.samples import DEMO_LAT, DEMO_LON
from tests.conftest import Store

runner = CliRunner()


def test_the_community_commands(city_store: Store, tmp_path: Path) -> None:
    env = {
        "GRIDWATCH_DATABASE_URL": city_store.url,
        "GRIDWATCH_DATA_DIR": str(tmp_path / "data"),
        "GRIDWATCH_SECRET_KEY": "cli",
    }

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=env)
        return result.exit_code, result.output

    with city_store.sessions() as session:
        community = session.scalar(
            select(Unit).where(Unit.level == "community").order_by(Unit.code)
        )
        assert community is not None and community.parent is not None
        town = community.parent.code
    team = f"{town}-T1"
    header = "code,kind,name,phone,unit,team,skills\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header + f"Q1,义警,甲,,{community.code},{team},\nQ2,保安,乙,,{community.code},,\n"
    )
    code, output = run("volunteers", "import", str(bad))
    assert code == 2 and "row 3 (Q2)" in output and "nothing imported" in output
    good = tmp_path / "good.csv"
    good.write_text(header + f"Q1,义警,甲,,{community.code},{team},急救\n")
    assert run("volunteers", "import", str(good)) == (0, f"1 volunteers imported from {good}\n")

    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    code, output = run("volunteers", "rate", "--month", month)
    assert code == 0 and "rated" in output, output
    code, output = run("points", "credit-hours", "--month", month)
    assert code == 0, output
    code, output = run(
        "mall", "add", "--code", "CUP", "--name", "保温杯", "--cost", "60", "--stock", "3"
    )
    assert code == 0, output

    buildings = tmp_path / "buildings.csv"
    buildings.write_text(
        f"code,name,address,units,lat,lon,head\nQB1,幸福楼,幸福路1号,24,{DEMO_LAT},{DEMO_LON},Q1\n"
    )
    code, output = run("buildings", "import", str(buildings))
    assert code == 0 and "1 buildings" in output, output
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name,address,units,lat,lon,head\nQB2,楼,路,x,23.0,113.7,\n")
    code, output = run("buildings", "import", str(broken))
    assert code == 2 and "line 2" in output, output

    now = dt.datetime.now(dt.UTC)
    with city_store.transaction() as session:
        create_operation(
            session,
            code="OP-CLI",
            name="安保",
            town=town,
            starts_at=now - dt.timedelta(hours=3),
            ends_at=now - dt.timedelta(hours=1),
            points=[PointIn("P1", "北门", DEMO_LAT, DEMO_LON, 1)],
            shifts=[ShiftIn("S1", now - dt.timedelta(hours=3), now - dt.timedelta(hours=1))],
        )
    code, output = run("operations", "close", "OP-CLI")
    assert code == 0 and '"person_times": 0' in output, output
    assert run("operations", "close", "OP-CLI")[0] == 2, "closed once"

    out = tmp_path / "hours.xlsx"
    code, output = run("ledger", "hours", "--team", team, "--month", month, "--out", str(out))
    assert code == 0, output
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None and month in str(sheet["A1"].value)
    assert "甲" in [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
    code, output = run("ledger", "hours", "--team", team, "--month", month, "--out", "x.pdf")
    assert code == 2 and ".xlsx or .csv" in output

    with city_store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Volunteer)) >= 1
        assert session.scalar(select(Volunteer.code).where(Volunteer.code == "Q2")) is None
        assert session.scalar(select(func.count()).select_from(Rating)) >= 1
        assert session.scalar(select(MallItem.stock).where(MallItem.code == "CUP")) == 3
        assert session.scalar(select(Building.code).where(Building.code == "QB2")) is None
        operation = session.scalar(select(Operation).where(Operation.code == "OP-CLI"))
        assert operation is not None and operation.status == "closed"
