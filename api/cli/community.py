"""The community's own forces: volunteers and their ratings, points, the mall, ledgers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import command_group, console, fail, settings, store_session

volunteers_app = command_group("Volunteers: the registry and the monthly star rating.")
points_app = command_group("The points ledger of volunteers and reporters.")
mall_app = command_group("The points mall (积分商城).")
Month = Annotated[str, typer.Option(help="The month, YYYY-MM")]


@volunteers_app.command("import")
def import_volunteers_command(
    path: Annotated[Path, typer.Argument(help="CSV: code,kind,name,phone,unit,team,skills")],
) -> None:
    """Import volunteers from a CSV (upsert by code): all rows, or none and every rejected
    row with its reason. ``skills`` are separated by ``;``.

    Example: gridwatch volunteers import volunteers.csv
    """
    from grids.community.volunteers import VolunteerImportRefused, import_volunteers

    config = settings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: {exc}")
    with store_session(config) as session:
        try:
            result = import_volunteers(session, config.community_config(), text)
        except VolunteerImportRefused as exc:
            for row in exc.body["rejected"]:
                console.print(f"row {row['row']} ({row['code']}): {row['reason']}")
            raise
    console.print(f"{result.accepted} volunteers imported from {path}")


@volunteers_app.command("rate")
def rate_command(month: Month) -> None:
    """Give every active volunteer their stars for a month (from the year's hours and
    evaluations; thresholds in GRIDWATCH_COMMUNITY_FILE).

    Example: gridwatch volunteers rate --month 2026-11
    """
    from grids.community.ratings import rate_month

    config = settings()
    with store_session(config) as session:
        count = rate_month(session, config.community_config(), month)
    console.print(f"{count} volunteers rated for {month}")


@points_app.command("credit-hours")
def credit_hours_command(month: Month) -> None:
    """Credit each volunteer's points for a month's patrol and activity hours (once a month;
    event duty is credited when its operation closes).

    Example: gridwatch points credit-hours --month 2026-11
    """
    from grids.community.points import credit_month
    from grids.db import utcnow

    config = settings()
    with store_session(config) as session:
        credited = credit_month(session, month, config.timezone, at=utcnow())
    console.print(f"{credited} volunteers credited for {month}")


@mall_app.command("add")
def mall_add(
    code: Annotated[str, typer.Option(help="The item's code")],
    name: Annotated[str, typer.Option(help="What it is, e.g. 保温杯")],
    cost: Annotated[int, typer.Option(min=1, help="Points")],
    stock: Annotated[int, typer.Option(min=0, help="How many there are")],
) -> None:
    """Add or update (by code) an item of the points mall.

    Example: gridwatch mall add --code CUP --name 保温杯 --cost 200 --stock 50
    """
    from grids.community.mall import save_item

    with store_session() as session:
        save_item(session, code=code, name=name, cost=cost, stock=stock)
    console.print(f"{code}: {name}, {cost} points, {stock} in stock")


def ledger_command(
    kind: Annotated[str, typer.Argument(help="attendance (考勤台账) or hours (服务时长台账)")],
    team: Annotated[str, typer.Option(help="The team's code")],
    month: Month,
    out: Annotated[Path, typer.Option(help="ledger.xlsx or ledger.csv")],
) -> None:
    """Write a team's ledger for a month, with the unit's name and the period in its header.

    Example: gridwatch ledger attendance --team DG20-T1 --month 2026-11 --out kq.xlsx
    """
    from grids.community.ledgers import ledger, to_csv, to_xlsx
    from grids.patrols.service import team_by_code

    if out.suffix.lower() not in (".xlsx", ".csv"):
        fail(f"--out {out}: write .xlsx or .csv")
    config = settings()
    with store_session(config) as session:
        book = ledger(
            session,
            kind,
            team_by_code(session, team),
            month,
            config.timezone,
            identity=True,
            kinds=config.community_config().kinds,
        )
    if out.suffix.lower() == ".csv":
        out.write_text(to_csv(book), encoding="utf-8")
    else:
        out.write_bytes(to_xlsx(book))
    console.print(f"{len(book.rows)} rows written to {out}")
