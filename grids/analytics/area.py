"""The study area of a unit and its cells, cached per grid locator.

The study area of a unit is the union of its grids (of every grid for the
city); its field at a resolution is every cell whose centre lies in it. Both
are cached per locator, which is rebuilt when the store's grids change.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import h3
import numpy as np
import shapely
from numpy.typing import NDArray

from geo.aggregate import study_area_cells
from grids.city.directory import UnitInfo
from grids.city.locator import GridLocator
from grids.errors import InvalidInput

#: Refuse fields larger than this many cells (the whole city at res 11 is ~1.2 million).
MAX_FIELD_CELLS = 400_000

_T = TypeVar("_T")
_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[GridLocator, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _cached(locator: GridLocator, key: Any, build: Callable[[], _T]) -> _T:
    """A value computed once per locator (small: a few per unit and resolution)."""
    with _lock:
        cache = _caches.setdefault(locator, {})
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
    value = build()
    with _lock:
        cache = _caches.setdefault(locator, {})
        if len(cache) > 64:
            cache.clear()
        cache[key] = value
    return value


@dataclass(frozen=True)
class GridParents:
    """For each grid of the locator (in its order): its own, community and town unit ids."""

    grid: NDArray[np.int64]
    community: NDArray[np.int64]
    town: NDArray[np.int64]

    def mask(self, unit: UnitInfo | None) -> NDArray[np.bool_]:
        """Which grids lie in ``unit`` (all for the city)."""
        if unit is None:
            return np.ones(len(self.grid), dtype=bool)
        column = {"grid": self.grid, "community": self.community, "town": self.town}.get(unit.level)
        if column is None:
            return np.ones(len(self.grid), dtype=bool)
        return np.asarray(column == unit.id)


def grid_parents(locator: GridLocator) -> GridParents:
    """The hierarchy above each grid, as arrays aligned with the locator's grids."""

    def build() -> GridParents:
        directory = locator.directory
        ids = np.asarray(locator.unit_ids, dtype=np.int64)

        def above(level: str) -> NDArray[np.int64]:
            return np.asarray(
                [(u.id if (u := directory.ancestor(int(i), level)) else -1) for i in ids],
                dtype=np.int64,
            )

        return GridParents(ids, above("community"), above("town"))

    return _cached(locator, "parents", build)


def study_area(locator: GridLocator, unit: UnitInfo | None) -> shapely.Geometry:
    """The union of the unit's grids, as one MultiPolygon of their parts (no dissolve:
    a cell's centre lies in the union exactly when it lies in one of the parts)."""
    polygons = np.asarray(locator.cellmap.polygons, dtype=object)[grid_parents(locator).mask(unit)]
    return shapely.MultiPolygon(list(shapely.get_parts(polygons)))


def area_cells(locator: GridLocator, unit: UnitInfo | None, res: int) -> NDArray[np.uint64]:
    """Every cell at ``res`` whose centre lies in the unit's grids (cached)."""

    def build() -> NDArray[np.uint64]:
        area = study_area(locator, unit)
        _check_field_size(area, res)
        return study_area_cells(area, res)

    return _cached(locator, ("area", unit.id if unit else None, res), build)


def _check_field_size(area: shapely.Geometry, res: int) -> None:
    """Refuse before filling: a city at a fine resolution is millions of cells."""
    if shapely.is_empty(area):
        return
    lat = shapely.centroid(area).y
    km2 = shapely.area(area) * 111.32**2 * np.cos(np.radians(lat))
    estimate = km2 / h3.average_hexagon_area(res, unit="km^2")
    if estimate > MAX_FIELD_CELLS:
        raise InvalidInput(
            f"res {res} over this area is about {estimate:,.0f} cells (limit "
            f"{MAX_FIELD_CELLS:,}); choose a coarser res or a smaller unit"
        )
