"""The domain of gridwatch and its store, one package per concept.

``city`` (units, people, rosters, categories, dispatch, the grid locator),
``accounts`` (users, scopes, reporters, API keys), ``cases`` (the case loop),
``analytics`` (hot spots, maps' layers, summaries), ``patrols``, ``community``
(volunteers, service hours and stars, points and the mall, buildings, major-event duty,
ledgers), ``samples`` and ``planning_api`` (the planners' Python API, ``from grids
import City``, imported on first use);
``db`` (engines, column types, migrations) and ``errors`` serve them all.
Dependencies point one way: ``api → grids → geo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grids.planning_api import City

__all__ = ["City"]


def __getattr__(name: str) -> Any:
    """``from grids import City`` imports the planners' API on first use only, so that
    ``import grids`` (and ``gridwatch --help``) stays light."""
    if name == "City":
        from grids.planning_api import City

        return City
    raise AttributeError(f"module 'grids' has no attribute {name!r}")
