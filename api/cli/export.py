"""gridwatch export: the store's history as files for analysts (and for ``--engine dask``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import command_group, console, reported_errors, settings, store_session
from api.cli.route import _progress as progress_bar

app = command_group("Export the store's history as files for analysts.")


@app.command("cases")
def cases(
    directory: Annotated[Path, typer.Argument(help="Directory to write (new or empty)")],
    since: Annotated[
        str | None,
        typer.Option(help="Reported from (inclusive): YYYY-MM-DD (local midnight) or ISO time"),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Reported until (exclusive), as --since")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(help="Write into a non-empty DIR, replacing its month=YYYY-MM partitions"),
    ] = False,
) -> None:
    """The cases as Parquet, one file per month of the city's calendar:
    DIR/month=YYYY-MM/part-0.parquet (hive-style; read DIR as one table).

    Columns: cell (H3 res 12, int64), reported_at (UTC), category, status, reject_reason,
    duplicate, counted (whether hot-spot analytics count it), grid_code, community_code,
    town_code. An export for analysts: no reporter identity or contact, no description or
    other free text, no position finer than the res-12 cell.

    Example: gridwatch export cases var/history --since 2026-01-01, then
    gridwatch hotspots --engine dask --from var/history --out hot.csv
    """
    from grids.analytics.export import export_cases
    from grids.analytics.selection import Selection, parse_instant

    config = settings()
    tz = config.timezone
    with reported_errors():
        selection = Selection(
            parse_instant(since, tz, name="--since"), parse_instant(until, tz, name="--until")
        )
        if selection.since and selection.until and selection.until <= selection.since:
            from grids.errors import InvalidInput

            raise InvalidInput("--until must lie after --since")
    with store_session(config) as session, progress_bar() as progress:
        task = progress.add_task("exporting cases", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = export_cases(
            session, directory, selection=selection, tz=tz, force=force, progress=step
        )
    span = f"{min(result.months)} to {max(result.months)}" if result.months else "no month"
    console.print(
        f"{result.rows:,} cases in {len(result.months)} monthly partitions ({span}) "
        f"written to {directory}"
    )
