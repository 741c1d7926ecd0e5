"""Routing against the store: the cell map of the grid units plus the directory.

:class:`GridLocator` is what the API and the CLI call; :class:`LocatorCache`
keeps one per process and rebuilds it when an import changes the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.cellmap import MATCH_KINDS, CellMap, Located
from geo.crs import to_wgs84, validate_coordinates
from grids.city.directory import Directory
from grids.city.dispatch import RoutingDecision, decide
from grids.city.models import StoreRevision, Unit
from grids.db import STORE_UNREACHABLE
from grids.errors import NotReady
from grids.limits import check_instant

log = logging.getLogger("gridwatch")


class GridLocator:
    """Locate points in the store's grids and route them by the dispatch rules."""

    def __init__(
        self, directory: Directory, cellmap: CellMap, unit_ids: np.ndarray, timezone: str
    ) -> None:
        self.directory = directory
        self.cellmap = cellmap
        self.unit_ids = unit_ids
        self.tz = ZoneInfo(timezone)

    @classmethod
    def from_store(
        cls,
        session: Session,
        *,
        cache_path: Path | None,
        timezone: str,
        res: int | None = None,
        snap_meters: float = 100.0,
    ) -> GridLocator:
        """Load the directory and the grid polygons; reuse the saved cell map when current."""
        directory = Directory.load(session)
        rows = session.execute(
            select(Unit.id, Unit.code, Unit.geom).where(Unit.level == "grid").order_by(Unit.code)
        ).all()
        if not rows:
            raise NotReady(
                "the store has no grids yet: run `gridwatch samples build` for the sample city, "
                "or import grids with `gridwatch units import FILE --level grid`"
            )
        unit_ids = np.asarray([r.id for r in rows], dtype=np.int64)
        codes = np.asarray([r.code for r in rows], dtype=object)
        polygons = np.asarray([r.geom for r in rows], dtype=object)
        if cache_path is None:
            cellmap = CellMap.build(polygons, codes, res=res, snap_meters=snap_meters)
        else:
            cellmap = CellMap.load_or_build(
                cache_path, polygons, codes, res=res, snap_meters=snap_meters
            )
        return cls(directory, cellmap, unit_ids, timezone)

    def local_time(self, at: dt.datetime | None) -> dt.datetime:
        """``at`` in the city's time zone; a naive time is read as local, None is now."""
        if at is None:
            return dt.datetime.now(self.tz)
        check_instant(at, "at")
        if at.tzinfo is None:
            return at.replace(tzinfo=self.tz)
        return at.astimezone(self.tz)

    def route(
        self,
        lat: float,
        lon: float,
        *,
        crs: str = "wgs84",
        at: dt.datetime | None = None,
        category: str | None = None,
    ) -> RoutingDecision:
        """Route one report: its grid, the officer on duty or the fallback, the department."""
        lat_w, lon_w = to_wgs84(lat, lon, crs)
        index, match, distance = self.cellmap.locate_one(float(lat_w), float(lon_w))
        grid_id = int(self.unit_ids[index]) if index >= 0 else None
        return decide(
            self.directory,
            grid_id,
            match,
            distance if index >= 0 else None,
            self.local_time(at),
            category,
        )

    def locate_many(self, lat: np.ndarray, lon: np.ndarray) -> Located:
        return self.cellmap.locate(lat, lon)

    def decide_located(
        self,
        located: Located,
        local: list[dt.datetime],
        categories: list[str | None],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[RoutingDecision]:
        """The dispatch decision of each located point at its local time, for its category.

        Decisions are memoised per (grid, local minute, category, match), so files of
        many reports in few grids and shifts cost few rule evaluations.
        """
        memo: dict[tuple, RoutingDecision] = {}
        out = []
        names = MATCH_KINDS
        for i in range(len(local)):
            idx = int(located.index[i])
            key = (idx, local[i].replace(second=0, microsecond=0), categories[i], located.match[i])
            decision = memo.get(key)
            if decision is None or decision.match == "snapped":
                decision = decide(
                    self.directory,
                    int(self.unit_ids[idx]) if idx >= 0 else None,
                    names[located.match[i]],
                    float(located.distance_m[i]) if idx >= 0 else None,
                    local[i],
                    categories[i],
                )
                memo[key] = decision
            out.append(decision)
            if progress is not None and i % 10000 == 0:
                progress(i)
        return out

    def route_many(
        self,
        lat: np.ndarray,
        lon: np.ndarray,
        *,
        times: pd.Series | None = None,
        categories: pd.Series | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Route a table of WGS-84 points; one row per point with grid, officer and department."""
        lat, lon = validate_coordinates(lat, lon)
        located = self.cellmap.locate(lat, lon)
        n = len(lat)
        local = (
            pd.to_datetime(times, utc=False).map(self.local_time)
            if times is not None
            else pd.Series([self.local_time(None)] * n)
        )
        cats = (
            categories.astype(object).where(categories.notna(), None)
            if categories is not None
            else pd.Series([None] * n)
        )
        out = self.decide_located(located, list(local), list(cats), progress=progress)
        frame = pd.DataFrame(
            {
                "grid_id": [d.grid.code if d.grid else None for d in out],
                "match": located.match_names(),
                "snap_distance_m": located.distance_m,
                "town": [t.code if (t := d.unit_at("town")) else None for d in out],
                "assignee_kind": [d.assignee_kind for d in out],
                "officer": [d.officer.code if d.officer else None for d in out],
                "officer_name": [d.officer.name if d.officer else None for d in out],
                "department": [d.department.code if d.department else None for d in out],
                "fallback": [d.fallback for d in out],
            }
        )
        return frame


class LocatorCache:
    """One locator per process, rebuilt when the store's revision changes.

    The revision is read at most every ``check_seconds``, so a request costs
    no query in the common case and an import shows within seconds.
    """

    def __init__(
        self,
        load: Callable[[], GridLocator],
        revision: Callable[[], int],
        check_seconds: float = 2.0,
    ) -> None:
        self._load = load
        self._revision = revision
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._locator: GridLocator | None = None
        self._checked = 0.0

    @property
    def loaded(self) -> bool:
        """Whether a locator is in memory (it answers even while the store is down)."""
        return self._locator is not None

    def get(self) -> GridLocator:
        """The locator; while the store cannot be reached, the one already loaded (so
        locating keeps answering from memory through an outage)."""
        now = time.monotonic()
        locator = self._locator
        if locator is not None and now - self._checked < self._check_seconds:
            return locator
        with self._lock:
            try:
                if self._locator is None or self._revision() != self._locator.directory.revision:
                    self._locator = self._load()
            except STORE_UNREACHABLE as exc:
                if self._locator is None:
                    raise
                log.warning("store unreachable (%s); locating with the grids in memory", exc)
            self._checked = time.monotonic()
            return self._locator


def store_revision(session: Session) -> int:
    return session.scalar(select(StoreRevision.revision)) or 0
