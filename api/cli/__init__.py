"""The ``gridwatch`` command line: one Typer app, subcommands per concern.

The modules load only typer and rich (``gridwatch --help`` answers at once);
each command imports what it needs when it runs. See ``api/cli/common.py`` for
the one rule about a store that was never initialised.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import (
    analytics,
    buildings,
    cases,
    community,
    export,
    operations,
    patrol,
    route,
    samples,
    store,
)
from api.cli.common import command_group, console, fail, settings

app = command_group(
    "gridwatch: route citizens' reports to the grid officer on duty.\n\n"
    "Example: gridwatch samples build && gridwatch serve"
)
app.add_typer(store.units_app, name="units")
app.add_typer(store.taxonomy_app, name="taxonomy")
app.add_typer(store.people_app, name="people")
app.add_typer(store.roster_app, name="roster")
app.add_typer(samples.app, name="samples")
app.add_typer(cases.user_app, name="user")
app.add_typer(cases.apikey_app, name="apikey")
app.add_typer(cases.webhooks_app, name="webhooks")
app.add_typer(cases.import_app, name="import")
app.add_typer(patrol.app, name="patrol")
app.add_typer(community.volunteers_app, name="volunteers")
app.add_typer(community.points_app, name="points")
app.add_typer(community.mall_app, name="mall")
app.add_typer(buildings.app, name="buildings")
app.add_typer(operations.app, name="operations")
app.add_typer(export.app, name="export")
app.command("ledger")(community.ledger_command)
app.command("escalate")(cases.escalate)
app.command("check")(cases.check)
app.command("hotspots")(analytics.hotspots)
app.command("emerging")(analytics.emerging)
app.command("summary")(analytics.summary)
app.command("route")(route.route)
app.command("init")(store.init)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Service processes on this port (PostgreSQL only; SQLite serves one)"
        ),
    ] = 1,
) -> None:
    """Serve the API, the console and the maps.

    On a store that was never initialised it answers 503 (run `gridwatch init`) until it is.
    With --workers N (PostgreSQL), N processes serve; one of all the processes on the store,
    on this host or others, runs the deadline checker and webhook delivery.

    Example: gridwatch serve --port 8000, then open http://127.0.0.1:8000/docs
    """
    import uvicorn
    from fastapi import FastAPI
    from sqlalchemy.engine import make_url

    from api.app import create_app
    from api.basemap import open_archive
    from grids.errors import GridwatchError

    config = settings()
    host, port = host or config.host, port or config.port
    if workers > 1 and make_url(config.database_url).get_backend_name() != "postgresql":
        fail(
            f"--workers {workers} needs PostgreSQL (GRIDWATCH_DATABASE_URL=postgresql+psycopg://"
            "...); the embedded SQLite store is served by one process"
        )
    try:  # a basemap file that cannot be served stops the start with what to fix
        if workers == 1:
            service: FastAPI | str = create_app(config)
        else:  # each process makes its own app from the environment
            archive = open_archive(config)
            if archive is not None:
                archive.close()
            service = "api.app:create_app"
    except GridwatchError as exc:
        fail(str(exc))
    console.print(f"gridwatch on http://{host}:{port} (docs at /docs), {workers} process(es)")
    uvicorn.run(
        service,
        host=host,
        port=port,
        workers=workers,
        factory=workers > 1,
        timeout_graceful_shutdown=5,  # open event streams must not hold up a restart
    )


def main() -> None:
    app()
