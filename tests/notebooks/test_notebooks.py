"""Every notebook in ``notebooks/`` runs top to bottom on the small sample city with its
history (SQLite), failing on any cell's error, and draws at least one map or chart; the
committed notebooks carry no outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO, HistoryCity

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
CELL_TIMEOUT_S = 600


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("history_city", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_runs_top_to_bottom(
    path: Path, history_city: HistoryCity, sample_city_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the kernel inherits the environment: the notebook opens the store City.open() finds
    monkeypatch.setenv("GRIDWATCH_DATABASE_URL", history_city.store.url)
    monkeypatch.setenv("GRIDWATCH_PLANTED_HOTSPOTS", str(sample_city_dir / "planted_hotspots.json"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(REPO / "notebooks")}},
    )
    client.execute(env=dict(os.environ))  # raises CellExecutionError on any cell's error
    pictures = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert pictures, f"{path.name} draws no map or chart"
