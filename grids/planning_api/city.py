"""A city's store opened for reading: :class:`City`, the planners' entry point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from geo.h3cells import cells_to_polygons
from geo.maps.geojson import parse_cells
from grids.analytics import hotspots as analyses
from grids.analytics.selection import Hours, Selection, parse_instant
from grids.analytics.summaries import parse_day, summarise
from grids.city.locator import GridLocator
from grids.planning_api.frames import (
    CRS,
    case_frame,
    checkin_frame,
    patrol_point_frame,
    unit_frame,
)
from grids.planning_api.patrols import PatrolPlan, plan_patrols
from grids.planning_api.rosters import officer_hours_frame
from grids.planning_api.store import city_timezone, read_only_engine, store_url

#: A time as planners give it: ``"2026-11-16"`` (local midnight), an ISO 8601 time
#: (naive = local) or a :class:`datetime.datetime`.
When = str | dt.date | dt.datetime | None


class City:
    """A city's store, read-only: its units, cases, check-ins and patrol points as
    GeoDataFrames, and the service's hot spots, emerging hot spots and summaries.

    Open one with :meth:`City.open`; close it with :meth:`close` or a ``with`` block.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        An engine on the store (read-only connections, see :meth:`open`).
    timezone : str
        The city's time zone, in which bare dates are read.

    Examples
    --------
    >>> from grids import City
    >>> city = City.open("sqlite:///var/gridwatch.db")  # doctest: +SKIP
    >>> week = city.cases(since="2026-11-09", until="2026-11-16")  # doctest: +SKIP
    >>> city.summary("week", "2026-11-09")["counts"]["received"] == len(week)  # doctest: +SKIP
    True
    """

    def __init__(self, engine: Engine, timezone: str) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine)
        self.timezone = timezone
        with self._session() as session:
            self._locator = GridLocator.from_store(session, cache_path=None, timezone=timezone)

    @classmethod
    def open(cls, url_or_path: str | Path | None = None, *, timezone: str | None = None) -> City:
        """Open a store for reading.

        Parameters
        ----------
        url_or_path : str or pathlib.Path, optional
            A SQLAlchemy URL (``sqlite:///file.db``, ``postgresql://user@host/db``) or the
            path of an SQLite file. Default: ``GRIDWATCH_DATABASE_URL``, the service's store.
        timezone : str, optional
            The city's time zone. Default: ``GRIDWATCH_TIMEZONE``, else ``Asia/Shanghai``.

        Returns
        -------
        City
            The city; every connection it makes refuses to write.

        Raises
        ------
        grids.errors.NotFound
            No store was given or configured, or the file does not exist.
        """
        return cls(read_only_engine(store_url(url_or_path)), city_timezone(timezone))

    def close(self) -> None:
        """Close the store's connections."""
        self._engine.dispose()

    def __enter__(self) -> City:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def _selection(
        self,
        since: When,
        until: When,
        category: str | None,
        unit: str | None,
        hours: tuple[int, int] | None = None,
    ) -> Selection:
        return Selection(
            self._instant(since, "since"),
            self._instant(until, "until"),
            category,
            unit,
            Hours(*hours, tz=self.timezone) if hours is not None else None,
        )

    def _instant(self, value: When, name: str) -> dt.datetime | None:
        if value is None or isinstance(value, str):
            return parse_instant(value, self.timezone, name=name)
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        return parse_instant(value.isoformat(), self.timezone, name=name)

    def units(self, level: str = "grid") -> gpd.GeoDataFrame:
        """The units of one level with their outlines.

        Parameters
        ----------
        level : {"grid", "community", "town", "city"}
            Which level (default: the grids).

        Returns
        -------
        geopandas.GeoDataFrame
            ``code, name, name_en, level, parent`` (the parent's code), ``town`` (the
            town's code), ``area_m2`` and the outline, in WGS-84.
        """
        with self._session() as session:
            return unit_frame(session, self._locator.directory, level)

    def cases(
        self,
        since: When = None,
        until: When = None,
        *,
        unit: str | None = None,
        category: str | None = None,
        status: str | Sequence[str] | None = None,
    ) -> gpd.GeoDataFrame:
        """The cases reported in a window, every state unless ``status`` says otherwise.

        Parameters
        ----------
        since, until : str, datetime.date or datetime.datetime, optional
            The window of ``reported_at``: ``since`` inclusive, ``until`` exclusive; a
            bare date is local midnight.
        unit : str, optional
            A town, community or grid code (default: the whole city).
        category : str, optional
            A category code.
        status : str or sequence of str, optional
            Only cases in these states (``received``, ..., ``closed``, ``rejected``).

        Returns
        -------
        geopandas.GeoDataFrame
            One row per case: ``id, status, category, source, h3_cell`` (resolution 12),
            ``match, escalation_level, missed, reject_reason, duplicate_of``, the times of
            the loop (UTC), ``grid, community, town`` codes and the assigned ``officer``'s
            code (staff, never the reporter); points in WGS-84. No column
            names or identifies the reporter.
        """
        statuses = [status] if isinstance(status, str) else status
        with self._session() as session:
            selection = self._selection(since, until, category, unit)
            return case_frame(session, self._locator.directory, selection, statuses)

    def checkins(
        self, since: When = None, until: When = None, *, unit: str | None = None
    ) -> gpd.GeoDataFrame:
        """Patrol check-ins made in a window.

        Parameters
        ----------
        since, until : str, datetime.date or datetime.datetime, optional
            The window of the check-in time (``since`` inclusive, ``until`` exclusive).
        unit : str, optional
            Only check-ins inside this town, community or grid.

        Returns
        -------
        geopandas.GeoDataFrame
            ``at`` (UTC), ``team`` and ``point`` codes, ``h3_cell``, ``grid`` and ``town``
            (where the position lies), points in WGS-84; not which member checked in.
        """
        with self._session() as session:
            selection = self._selection(since, until, None, unit)
            return checkin_frame(session, self._locator, selection)

    def patrol_points(self, unit: str | None = None) -> gpd.GeoDataFrame:
        """The patrol points.

        Parameters
        ----------
        unit : str, optional
            Only the points in this town, community or grid.

        Returns
        -------
        geopandas.GeoDataFrame
            ``code, name, kind, must_visit, h3_cell, grid, town``, points in WGS-84.
        """
        with self._session() as session:
            return patrol_point_frame(session, self._locator, Selection(unit=unit))

    def hotspots(
        self,
        since: When = None,
        until: When = None,
        *,
        unit: str | None = None,
        category: str | None = None,
        res: int = 9,
        k: int = 1,
        kernel: str = "uniform",
        fdr: bool = True,
        hours: tuple[int, int] | None = None,
    ) -> gpd.GeoDataFrame:
        """Getis-Ord Gi* hot spots of the cases, as ``/api/v1/hotspots`` computes them.

        Parameters
        ----------
        since, until : str, datetime.date or datetime.datetime, optional
            The window of ``reported_at``.
        unit, category : str, optional
            The study area (default: the city) and a category code.
        hours : (int, int), optional
            Only reports made in these local hours, ``(start, end)`` with ``end``
            exclusive; ``(20, 6)`` is the night 20:00-06:00 (default: all day).
        res : int
            H3 resolution of the cells (4 to 12; 9 is about 0.1 km²).
        k : int
            Neighbours within ``k`` rings (1 to 3).
        kernel : {"uniform", "gaussian", ...}
            The weights of the neighbours (see :data:`geo.hotspots.KERNELS`).
        fdr : bool
            Whether ``gi_bin`` and ``class`` use false-discovery-rate corrected p-values.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per cell of the field (zeros included): ``cell, count, gi_z, gi_p,
            gi_p_fdr, gi_bin, class`` and the hexagon; ``attrs["meta"]`` says what it was
            computed on.

        Raises
        ------
        grids.analytics.minimums.TooLittleData
            Too few cells hold reports for the statistic to mean anything.
        """
        with self._session() as session:
            selection = self._selection(since, until, category, unit, hours)
            analysis = analyses.hotspots(
                session, self._locator, selection, res=res, k=k, kernel=kernel, fdr=fdr
            )
        return _cells_frame(analysis)

    def emerging(
        self,
        since: When = None,
        until: When = None,
        *,
        unit: str | None = None,
        category: str | None = None,
        res: int = 8,
        freq: str = "week",
        k: int = 1,
    ) -> gpd.GeoDataFrame:
        """Emerging hot-spot patterns per cell, as ``/api/v1/hotspots/emerging`` computes them.

        Parameters
        ----------
        since, until : str, datetime.date or datetime.datetime, optional
            The window of ``reported_at``.
        unit, category : str, optional
            The study area (default: the city) and a category code.
        res : int
            H3 resolution of the cells.
        freq : {"day", "week", "month"}
            The time bins, in the city's time zone.
        k : int
            Neighbours within ``k`` rings.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per cell with its pattern (``pattern``: new, consecutive, intensifying,
            ... hot or cold spot) and the trend statistics, and the hexagon.
        """
        with self._session() as session:
            selection = self._selection(since, until, category, unit)
            analysis = analyses.emerging(session, self._locator, selection, res=res, freq=freq, k=k)
        return _cells_frame(analysis)

    def summary(
        self, period: str = "week", date: str | dt.date | None = None, unit: str | None = None
    ) -> dict[str, Any]:
        """The summary ``/api/v1/summaries`` and ``gridwatch summary`` report.

        Parameters
        ----------
        period : {"day", "week", "month"}
            A day, an ISO week (Monday first) or a month.
        date : str or datetime.date, optional
            Any day of the period (default: today in the city's time zone).
        unit : str, optional
            A town, community or grid code (default: the whole city).

        Returns
        -------
        dict
            ``counts`` (received, routed, verified valid, rejected, duplicates, closed,
            still open), ``times_minutes``, ``deadlines_missed``, ``top_categories``,
            ``top_cells``, ``by_unit``, ``series`` and ``previous``/``change``.
        """
        day = date if isinstance(date, dt.date) else parse_day(date, self.timezone)
        with self._session() as session:
            return summarise(
                session,
                self._locator.directory,
                period=period,
                day=day,
                unit=unit,
                tz=self.timezone,
            )

    def officer_hours(self, since: When, until: When, *, unit: str | None = None) -> pd.DataFrame:
        """Hours on duty per officer and grid in a window, from the duty rosters.

        Parameters
        ----------
        since, until : str, datetime.date or datetime.datetime
            The window (``since`` inclusive, ``until`` exclusive; a bare date is local
            midnight). Each shift counts with its part inside the window.
        unit : str, optional
            Only the grids of this town, community or grid.

        Returns
        -------
        pandas.DataFrame
            ``officer`` (the staff code, as in :meth:`cases`), ``grid, community, town``
            codes, ``shifts`` (occurrences overlapping the window) and ``hours``. Grids
            without a roster have no row (dispatch gives them their assigned officer).
        """
        selection = self._selection(since, until, None, unit)
        directory = self._locator.directory
        return officer_hours_frame(
            directory,
            selection.since,
            selection.until,
            selection.check(directory),
            self.timezone,
        )

    def patrol_plan(
        self,
        shift_start: str | dt.datetime,
        shift_minutes: float,
        starts: Sequence[tuple[float, float]],
        *,
        since: When = None,
        until: When = None,
        unit: str | None = None,
        category: str | None = None,
        hours: tuple[int, int] | None = None,
        res: int = 9,
        must_visit: bool = True,
        dwell_minutes: float = 12,
        speed_kmh: float = 15,
        detour: float = 1.3,
        seed: int | None = None,
        time_limit_s: float = 10,
    ) -> PatrolPlan:
        """Patrol routes through the hot cells, by the planner of ``gridwatch patrol plan``.

        Parameters
        ----------
        shift_start : str or datetime.datetime
            When the shift begins (naive: local time).
        shift_minutes : float
            How long it lasts.
        starts : sequence of (lat, lon)
            One team per start, each a round trip from there (WGS-84).
        since, until, unit, category, hours
            Which reports' Gi* hot cells (95 % or more) are the stops, as in
            :meth:`hotspots`; their z is the prize. ``unit`` also names the town whose
            must-visit points the routes must include (with ``must_visit``).
        res : int
            H3 resolution of the hot cells.
        dwell_minutes, speed_kmh, detour, seed, time_limit_s
            As in ``gridwatch patrol plan``: minutes per stop, travel speed, street over
            straight distance, a seed to vary the routes, solver seconds.

        Returns
        -------
        PatrolPlan
            ``stops`` (one row per visit), ``hot_cells`` (the candidates, ``planned``
            saying which are visited), ``total_prize``, ``dropped_must``, ``warnings``,
            ``meta`` and the planner's ``plan``.
        """
        begins = self._instant(shift_start, "shift_start")
        if begins is None:
            raise ValueError("shift_start is required")
        options = {
            "dwell_minutes": dwell_minutes,
            "speed_kmh": speed_kmh,
            "detour": detour,
            "seed": seed,
            "time_limit_s": time_limit_s,
        }
        with self._session() as session:
            selection = self._selection(since, until, category, unit, hours)
            selection.check(self._locator.directory)
            return plan_patrols(
                session,
                self._locator,
                selection,
                starts=starts,
                shift_start=begins,
                shift_minutes=shift_minutes,
                res=res,
                must_visit=must_visit,
                options=options,
            )

    def categories(self) -> pd.DataFrame:
        """The categories: ``code, name, name_en, group, department`` and the deadlines
        (minutes to acknowledge, verify and close)."""
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "name_en": c.name_en,
                "group": c.group,
                "department": c.department,
                "ack_minutes": c.ack_minutes,
                "verify_minutes": c.verify_minutes,
                "close_minutes": c.close_minutes,
            }
            for c in self._locator.directory.categories.values()
        ]
        return pd.DataFrame(rows).sort_values("code", ignore_index=True)


def _cells_frame(analysis: analyses.Analysis) -> gpd.GeoDataFrame:
    table = analysis.table.reset_index(drop=True)
    polygons = cells_to_polygons(parse_cells(table["cell"]))
    frame = gpd.GeoDataFrame(table, geometry=list(polygons), crs=CRS)
    frame.attrs["meta"] = analysis.meta
    return frame
