"""One runner of the background work per store: elected by an advisory lock on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from grids.election import RunnerElection
from tests.conftest import Store, make_store


def test_one_process_of_a_store_runs_and_another_takes_over(
    store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    first, second = RunnerElection(store.engine), RunnerElection(store.engine)
    if store.backend == "sqlite":  # one process serves the file: it always runs
        assert first.holds() and second.holds()
        return
    other_store = RunnerElection(make_store("postgis", tmp_path / "other", request).engine)
    try:
        assert first.holds() and not second.holds()
        assert first.holds() and not second.holds()  # asked again: nothing changes
        assert other_store.holds()  # another schema of the database elects its own
        first.close()  # the runner stops: the next round of another process takes over
        assert second.holds() and not first.holds()
    finally:
        for election in (first, second, other_store):
            election.close()
