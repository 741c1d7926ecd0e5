"""Response models: what the API promises, as the OpenAPI docs show it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UnitRef(BaseModel):
    code: str
    name: str
    name_en: str | None = None
    level: Literal["city", "town", "community", "grid"]


class PersonRef(BaseModel):
    code: str
    name: str


class NamedRef(BaseModel):
    code: str
    name: str
    name_en: str | None = None


class Assignee(BaseModel):
    kind: Literal["officer", "grid_chief", "community", "town_dispatch", "city_dispatch"]
    unit: UnitRef | None = Field(description="The unit whose person or desk takes the case")
    person: PersonRef | None


class Routing(BaseModel):
    """Where a point lies and who handles a report there, with the reasons."""

    match: Literal["inside", "edge", "snapped", "outside"]
    snap_distance_m: float | None = Field(description="Distance to the grid when snapped")
    grid: UnitRef | None
    community: UnitRef | None
    town: UnitRef | None
    path: list[UnitRef] = Field(description="City → town → community → grid")
    assignee: Assignee
    officer: PersonRef | None = Field(description="The grid officer on duty, if one takes it")
    category: NamedRef | None
    department: NamedRef | None
    fallback: str | None = Field(description="Why the officer on duty did not take it, if not")
    reasons: list[str]


class LocateResponse(Routing):
    lat: float = Field(description="Latitude in WGS-84, after conversion from the input crs")
    lon: float = Field(description="Longitude in WGS-84, after conversion from the input crs")
    at: str = Field(description="The local time the roster was read at (ISO 8601)")
