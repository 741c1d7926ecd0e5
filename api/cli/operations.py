"""Major-event security operations: the closing."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli.common import command_group, console, store_session

app = command_group("Major-event security duty (重大活动安保).")


@app.command("close")
def close_command(code: Annotated[str, typer.Argument(help="The operation's code")]) -> None:
    """Close an operation: print the closing report (person-times, hours, coverage of each
    point and shift) and credit each volunteer's duty points.

    Example: gridwatch operations close OP-2026-NATIONAL-DAY
    """
    from grids.community.operations import close_operation, operation_by_code
    from grids.db import utcnow

    with store_session() as session:
        report = close_operation(session, operation_by_code(session, code), now=utcnow())
    coverage = report.pop("coverage")
    console.print_json(json.dumps(report, ensure_ascii=False))
    console.print(
        f"{len(coverage)} point-shifts; the full report: GET /api/v1/operations/{code}/report"
    )
