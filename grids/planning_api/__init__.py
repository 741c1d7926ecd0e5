"""The Python API for planners: a city's store as GeoDataFrames and the service's analyses.

``from grids import City; city = City.open("sqlite:///var/gridwatch.db")``, then
``city.units(level="grid")``, ``city.cases(since="2026-11-09", until="2026-11-16")``,
``city.checkins()``, ``city.patrol_points()``, ``city.hotspots()``, ``city.emerging()``,
``city.summary("week", "2026-11-16")``, ``city.officer_hours(since, until)`` (hours on
duty from the rosters) and ``city.patrol_plan(...)`` (routes by the service's planner).
Every frame is in WGS-84 with the H3 cell and the grid and town codes as columns; none
has a column that identifies a reporter.
The store is opened read-only, and the numbers are those of the API and the CLI: the
same functions of :mod:`grids.analytics` compute them. An analysis of too few reports
raises :class:`TooLittleData` (an ``InvalidInput``), saying what the selection held.
"""

from grids.analytics.minimums import TooLittleData
from grids.planning_api.city import City
from grids.planning_api.patrols import PatrolPlan

__all__ = ["City", "PatrolPlan", "TooLittleData"]
