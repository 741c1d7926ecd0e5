"""The Dask cluster of ``--engine dask``: a real scheduler (``--scheduler``) or a LocalCluster.

Dask is an optional extra (``pip install 'gridwatch[dask]'``); without it the
command says so in one line. Imported only when a command runs with
``--engine dask``, so ``gridwatch --help`` never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api.cli.common import fail

ENGINES = ("memory", "dask")
MISSING = "--engine dask needs Dask: install gridwatch[dask] (pip install 'gridwatch[dask]')"


def require_dask() -> None:
    """Fail in one line when the extra is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        fail(MISSING)


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A client of the scheduler at ``scheduler``, else of a LocalCluster of ``workers``
    worker processes (Dask's default for this machine when None); the current client
    while the block runs, closed (with its LocalCluster) after."""
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            fail(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc})")
        with client:
            yield client
        return
    options: dict[str, Any] = {"dashboard_address": ":0"}
    if workers is not None:
        options |= {"n_workers": workers, "threads_per_worker": 1}
    with LocalCluster(**options) as cluster, Client(cluster) as client:
        yield client
