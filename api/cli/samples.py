"""The sample city: generate it and load it into the store, with its year of history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import (
    command_group,
    console,
    fail,
    load_locator,
    reported_errors,
    settings,
    store_engine,
    store_session,
)

if TYPE_CHECKING:
    from grids.samples.accounts import DemoAccount

app = command_group("The sample city (Dongguan's towns with synthetic grids and a year of cases).")


def _as_of(text: str | None, timezone: str) -> dt.datetime:
    """The end of the history: now, or the given date (local midnight after it) or time."""
    from zoneinfo import ZoneInfo

    if text is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"--as-of {text!r} is not a date or time; use YYYY-MM-DD or 2026-11-16T00:00+08:00")
    if len(text) == 10:  # a date: the history ends with that day
        value += dt.timedelta(days=1)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(dt.UTC)


def print_accounts(accounts: list[DemoAccount]) -> None:
    console.print("demo accounts (sign in at http://127.0.0.1:8000 with a token):")
    for account in accounts:
        where = f" {account.scope}" if account.scope else ""
        who = f" {account.person}" if account.person else ""
        console.print(
            f"  {account.label:<14} {account.role}{where}{who} {account.name}: {account.token}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("build")
def build(
    scale: Annotated[float, typer.Option(help="Size of the city: 1.0 is about 3,000 grids")] = 1.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the generator (default: the README's city)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Where to write the generated files (default: SAMPLES_DIR/generated)"),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="End the year's history here (a date or ISO time; default: now)"
        ),
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the store has grids")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the history the store holds")
    ] = False,
) -> None:
    """Generate the sample city and load it into the store with a year of cases ending now
    (run `gridwatch init` first); prints the demo accounts' tokens.

    Example: gridwatch samples build --scale 0.2 --as-of 2026-11-15
    """
    from rich.progress import Progress

    from grids.samples import DEFAULT_SEED, build_sample_city
    from grids.samples.accounts import create_demo_accounts, demo_reporter_id
    from grids.samples.community import has_community, load_sample_community
    from grids.samples.history import (
        clear_history,
        has_history,
        load_sample_history,
        sample_reports,
    )
    from grids.samples.load import has_units, load_sample_city, load_sample_patrols
    from grids.samples.sources import TAXONOMY, TOWNS, source_path

    config = settings()
    end = _as_of(as_of, config.timezone)
    seed = DEFAULT_SEED if seed is None else seed
    out_dir = out or config.samples_dir / "generated"
    with reported_errors():
        towns = source_path(TOWNS, config.samples_dir)
        taxonomy = source_path(TAXONOMY, config.samples_dir)
    with store_session(config) as session:
        units, history = has_units(session), has_history(session.connection())
    if if_missing and units:
        console.print("the store already has grids; nothing to do")
        return
    if history and not force:
        fail("the store already holds a history; `gridwatch samples build --force` replaces it")
    with Progress(console=console, transient=True) as progress, reported_errors():
        task = progress.add_task("generating the sample city", total=None)

        def step(stage: str) -> None:
            progress.update(task, description=stage)

        manifest = build_sample_city(
            out_dir,
            seed=seed,
            scale=scale,
            towns_path=towns,
            taxonomy_path=taxonomy,
            progress=lambda stage, _fraction: step(f"generating: {stage}"),
        )
        with store_session(config) as session:
            if force:
                clear_history(session.connection())
            reports = load_sample_city(
                session, out_dir, taxonomy, step=lambda stage: step(f"loading: {stage}")
            )
        step("building the cell map")
        locator = load_locator(config)
        step("loading: patrol points and teams")
        with store_session(config) as session:
            load_sample_patrols(session, locator, out_dir)
            accounts = create_demo_accounts(session, locator, config.secret(), end)
            reporter = demo_reporter_id(session, config.secret())
        with store_engine(config) as engine, engine.begin() as conn:
            counts, checkins, _ = load_sample_history(
                conn,
                locator,
                config.case_config(),
                sample_reports(out_dir),
                as_of=end,
                scale=scale,
                seed=seed,
                demo_reporter=reporter,
                step=step,
            )
        step("loading: volunteers, buildings, a past operation")
        with store_session(config) as session:
            community = None  # kept as it is: --force replaces the history of cases only
            if not has_community(session):
                community = load_sample_community(
                    session, locator, config.community_config(), now=end
                )
    for report in reports:
        console.print(report.summary()[0])
        report.write(out_dir / f"import-{report.level}.json")
    console.print(
        f"sample city ready: {manifest.counts.get('grids')} grids, "
        + (
            f"{community.volunteers} volunteers, {community.buildings} buildings"
            if community
            else "its volunteers and buildings kept"
        )
        + f" in {out_dir}; "
        f"validation reports in {out_dir}/import-*.json"
    )
    console.print(
        f"history until {end.isoformat(timespec='minutes')}: {counts.cases:,} cases "
        f"({counts.statuses.get('closed', 0):,} closed), {counts.events:,} audit rows, "
        f"{counts.rewards:,} rewards, {counts.reporters:,} reporters, {checkins:,} check-ins",
        highlight=False,
    )
    print_accounts(accounts)


@app.command("accounts")
def accounts() -> None:
    """Print the sample city's demo accounts and their tokens again.

    Example: gridwatch samples accounts
    """
    from grids.samples.accounts import demo_accounts

    config = settings()
    with store_session(config) as session:
        found = demo_accounts(session, config.secret())
    if not found:
        fail("the store has no demo accounts; run `gridwatch samples build`")
    print_accounts(found)
