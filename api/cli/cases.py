"""Case-loop commands: users and keys, the deadline checker, webhook delivery, the
invariant check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import (
    command_group,
    console,
    errors,
    fail,
    load_locator,
    settings,
    store_engine,
    store_session,
)

user_app = command_group("Users of the API and their tokens.")
apikey_app = command_group("Open311 API keys for client applications.")
webhooks_app = command_group("Outbound webhooks.")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Option(help="Who the user is")],
    role: Annotated[
        str, typer.Option(help="reporter, officer, dispatcher, patrol_leader, planner, admin")
    ],
    scope: Annotated[str | None, typer.Option(help="Unit code: a dispatcher's town, say")] = None,
    person: Annotated[
        str | None, typer.Option(help="Person code (officers): links to the roster")
    ] = None,
    app: Annotated[
        bool,
        typer.Option(
            "--app",
            help="A reporter app (e.g. a WeChat mini program) that files for its own users, "
            "each named by its reporter.id",
        ),
    ] = False,
) -> None:
    """Create a user and print their bearer token once (only its hash is stored).

    Example: gridwatch user create --name "南城调度" --role dispatcher --scope DG20
    """
    from grids.accounts.users import create_user

    with store_session() as session:
        user, token = create_user(
            session, name, role, scope_code=scope, person_code=person, app=app
        )
        user_id = user.id
    console.print(f"user {user_id} ({role}) created; token (shown once):")
    print(token)


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Option(help="The client application")]) -> None:
    """Create an Open311 API key and print it once.

    Example: gridwatch apikey create --name "citizen-app"
    """
    from grids.accounts.users import create_api_key

    with store_session() as session:
        key = create_api_key(session, name)
    console.print(f"API key for {name} (shown once):")
    print(key)


def escalate(
    once: Annotated[bool, typer.Option("--once", help="Check once and exit (cron)")] = True,
) -> None:
    """Escalate every case whose deadline has passed, one rung up the ladder.

    Example (cron, every minute): * * * * * gridwatch escalate --once
    """
    from api.workers import escalate_once
    from grids.city.locator import LocatorCache
    from grids.db import session_factory

    config = settings()
    with store_engine(config) as engine:
        locators = LocatorCache(lambda: load_locator(config), lambda: -1)
        escalated = escalate_once(session_factory(engine), locators, config.case_config())
    console.print(f"{len(escalated)} cases escalated" + (f": {escalated}" if escalated else ""))


@webhooks_app.command("deliver")
def webhooks_deliver(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due and exit")] = True,
) -> None:
    """Send the webhook deliveries that are due (with backoff for failed ones).

    Example: gridwatch webhooks deliver --once
    """
    from grids.db import session_factory
    from grids.exchange.webhooks import deliver_due

    config = settings()
    with store_engine(config) as engine:
        delivered, failed = deliver_due(session_factory(engine), secret=config.secret())
    console.print(f"{delivered} delivered, {failed} failed (will be retried)")


import_app = command_group("Import other systems' data.")


@import_app.command("open311")
def import_open311(
    path: Annotated[Path, typer.Argument(help="Open311 GeoReport v2 requests, JSON or XML")],
    default_category: Annotated[str, typer.Option(help="Category for unmapped service codes")],
    source: Annotated[str, typer.Option(help="Name of the system the file comes from")] = "open311",
    category_map: Annotated[
        Path | None, typer.Option(help='JSON file {"service_code": "category_code"}')
    ] = None,
) -> None:
    """Import service requests as cases by the rules of intake, keeping their ids, status
    and times; idempotent. Rows outside the service area (or otherwise refused) are
    listed with their row and reason; exit status 2 when nothing was imported (unless
    every row was there already).

    Example: gridwatch import open311 requests.json --source bloomington
    --default-category garbage_piled --category-map codes.json
    """
    from grids.exchange.open311 import import_requests

    mapping = _category_map(category_map)
    config = settings()
    locator = load_locator(config)
    with store_session(config) as session:
        result = import_requests(
            session,
            locator,
            config.case_config(),
            path,
            source=source,
            default_category=default_category,
            category_map=mapping,
        )
    console.print(result.summary(), markup=False, highlight=False)
    if result.imported == 0 and result.refused:
        raise typer.Exit(2)


def _category_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"--category-map {path}: cannot read it as JSON ({exc})")
    if not isinstance(mapping, dict):
        fail(f'--category-map {path}: give a JSON object {{"service_code": "category_code"}}')
    return {str(k): str(v) for k, v in mapping.items()}


def check() -> None:
    """Check the invariants of the case loop on the store; exit with status 2 if any is broken.

    Every open case is visible to an officer and to its town's dispatcher, its routing
    block agrees with its grid and assignee, duplicates point at an open or closed
    original, every state change has its audit row and every reward its verify row.

    Example: gridwatch check
    """
    from grids.cases.invariants import check_store
    from grids.city.directory import Directory

    with store_session() as session:
        violations = check_store(session, Directory.load(session))
    for violation in violations:
        errors.print(str(violation), highlight=False)
    if violations:
        count = len(violations)
        errors.print(f"[bold red]{count} violation{'s' if count != 1 else ''}[/]")
        raise typer.Exit(code=2)
    console.print("no violations: the case loop's invariants hold")
