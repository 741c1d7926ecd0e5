"""The sample city: generate it and load it into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import (
    command_group,
    console,
    load_locator,
    reported_errors,
    settings,
    store_session,
)

app = command_group("The sample city (Dongguan's towns with synthetic grids and reports).")


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
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the store has grids")
    ] = False,
) -> None:
    """Generate the sample city and load it into the store (run `gridwatch init` first).

    Example: gridwatch samples build --scale 0.2 --seed 7
    """
    from rich.progress import Progress

    from grids.db import utcnow
    from grids.samples import DEFAULT_SEED, build_sample_city
    from grids.samples.community import load_sample_community
    from grids.samples.load import has_units, load_sample_city, load_sample_patrols
    from grids.samples.sources import TAXONOMY, TOWNS, source_path

    config = settings()
    out_dir = out or config.samples_dir / "generated"
    with reported_errors():
        towns = source_path(TOWNS, config.samples_dir)
        taxonomy = source_path(TAXONOMY, config.samples_dir)
    with store_session(config) as session:
        if if_missing and has_units(session):
            console.print("the store already has grids; nothing to do")
            return
    with Progress(console=console, transient=True) as progress, reported_errors():
        task = progress.add_task("generating the sample city", total=None)
        manifest = build_sample_city(
            out_dir,
            seed=DEFAULT_SEED if seed is None else seed,
            scale=scale,
            towns_path=towns,
            taxonomy_path=taxonomy,
            progress=lambda stage, _fraction: progress.update(
                task, description=f"generating: {stage}"
            ),
        )
        with store_session(config) as session:
            reports = load_sample_city(
                session,
                out_dir,
                taxonomy,
                step=lambda stage: progress.update(task, description=f"loading: {stage}"),
            )
        progress.update(task, description="building the cell map")
        locator = load_locator(config)
        progress.update(task, description="loading: patrol points and teams")
        with store_session(config) as session:
            load_sample_patrols(session, locator, out_dir)
        progress.update(task, description="loading: volunteers, buildings, a past operation")
        with store_session(config) as session:
            community = load_sample_community(
                session, locator, config.community_config(), now=utcnow()
            )
    for report in reports:
        console.print(report.summary()[0])
        report.write(out_dir / f"import-{report.level}.json")
    console.print(
        f"sample city ready: {manifest.counts.get('grids')} grids, "
        f"{manifest.counts.get('reports')} reports, {community.volunteers} volunteers, "
        f"{community.buildings} buildings in {out_dir}; "
        f"validation reports in {out_dir}/import-*.json"
    )
