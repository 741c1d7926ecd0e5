"""SQLAlchemy models of the administrative hierarchy, its people, rosters and categories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from grids.db import GeometryType

LEVELS: tuple[str, ...] = ("city", "town", "community", "grid")
"""Administrative levels, top down: city → town (镇/街道) → community (社区/村) → grid (网格)."""

ROLES: tuple[str, ...] = ("officer", "chief", "dispatcher")
"""What a person does for a unit: grid officer (网格员), grid chief (网格长), dispatcher."""


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """An administrative unit at one level, with its outline in WGS-84."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("level IN ('city', 'town', 'community', 'grid')", name="ck_units_level"),
        Index("ix_units_level_parent", "level", "parent_id"),
        Index("ix_units_bbox", "min_lon", "max_lon", "min_lat", "max_lat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    geom: Mapped[Any | None] = mapped_column(GeometryType("MULTIPOLYGON"))
    area_m2: Mapped[float | None] = mapped_column(Float)
    # The bounding box, so a bbox filter needs no spatial function on SQLite.
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Department(Base):
    """A department that handles categories of cases (入格部门)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))


class Category(Base):
    """A kind of report, with its handling department, deadlines and reward."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint(
            "ack_minutes > 0 AND verify_minutes >= ack_minutes AND close_minutes >= verify_minutes",
            name="ck_categories_deadlines",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    ack_minutes: Mapped[int] = mapped_column(Integer)
    verify_minutes: Mapped[int] = mapped_column(Integer)
    close_minutes: Mapped[int] = mapped_column(Integer)
    reward_yuan: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    points: Mapped[int] = mapped_column(Integer)
    duplicate_radius_m: Mapped[float] = mapped_column(Float, default=100.0)

    department: Mapped[Department] = relationship()


class Person(Base):
    """A member of staff: grid officer, grid chief or dispatcher."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))


class Assignment(Base):
    """A person's role for a unit: officer of a grid, chief of a grid or community, dispatcher."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("person_id", "unit_id", "role", name="uq_assignments"),
        CheckConstraint("role IN ('officer', 'chief', 'dispatcher')", name="ck_assignments_role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class RosterEntry(Base):
    """A recurring duty shift: who is on duty for which grid, on which weekdays, when.

    ``weekdays`` holds ISO digits (Monday 1 … Sunday 7); times are local. An
    ``end_time`` at or before ``start_time`` means the shift runs past midnight.
    """

    __tablename__ = "roster_entries"
    __table_args__ = (Index("ix_roster_unit", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    weekdays: Mapped[str] = mapped_column(String(7))
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)


class StoreRevision(Base):
    """One row whose counter grows on every import, so running services reload."""

    __tablename__ = "store_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
