"""The ``gridwatch`` command line: one Typer app, subcommands per concern."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import analytics, cases, patrol, route, samples, store
from api.cli.common import console, fail
from api.cli.common import settings as load_settings
from grids.errors import GridwatchError

app = typer.Typer(
    help="gridwatch: route citizens' reports to the grid officer on duty.\n\n"
    "Example: gridwatch samples build && gridwatch serve",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
app.command("escalate")(cases.escalate)
app.command("hotspots")(analytics.hotspots)
app.command("emerging")(analytics.emerging)
app.command("summary")(analytics.summary)
app.command("route")(route.route)
app.command("init")(store.init)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Serve the API, the console and the maps.

    Example: gridwatch serve --port 8000, then open http://127.0.0.1:8000/docs
    """
    import uvicorn

    from api.app import create_app

    settings = load_settings()
    try:  # a basemap file that cannot be served stops the start with what to fix
        service = create_app(settings)
    except GridwatchError as exc:
        fail(str(exc))
    console.print(
        f"gridwatch on http://{host or settings.host}:{port or settings.port} (docs at /docs)"
    )
    uvicorn.run(
        service,
        host=host or settings.host,
        port=port or settings.port,
        timeout_graceful_shutdown=5,  # open event streams must not hold up a restart
    )


def main() -> None:
    app()
