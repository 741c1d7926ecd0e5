"""SQLAlchemy models of the community's own forces: volunteers, their service and
evaluations, the points ledger and the mall, buildings and their inspections, and
major-event security operations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grids.city.models import Base
from grids.db import GeometryType, UtcDateTime, utcnow


# ------------------------------------------------------------------ volunteers
class Volunteer(Base):
    """A volunteer (义警, 平安志愿者, 劝导队员, 楼栋长, 信息员) of a unit, maybe in a team.

    ``real_name`` and ``phone`` reach only admins and the managers of the volunteer's
    unit; everyone else sees ``pseudonym``. A volunteer in a patrol team is that team's
    member (``member_id``), so their check-ins are theirs.
    """

    __tablename__ = "volunteers"
    __table_args__ = (
        Index("ix_volunteers_unit", "unit_id"),
        Index("ix_volunteers_team", "team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    real_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    pseudonym: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("team_members.id"), unique=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ServiceActivity(Base):
    """Hours of a recorded activity (a training, a campaign), entered by a team leader."""

    __tablename__ = "service_activities"
    __table_args__ = (
        Index("ix_service_activities_volunteer_at", "volunteer_id", "started_at"),
        CheckConstraint("hours > 0 AND hours <= 24", name="ck_service_activities_hours"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    hours: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Evaluation(Base):
    """A team leader's evaluation of a volunteer: 1 to 5, with a note."""

    __tablename__ = "evaluations"
    __table_args__ = (
        Index("ix_evaluations_volunteer_at", "volunteer_id", "at"),
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_evaluations_score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(500), default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Rating(Base):
    """The stars a volunteer was given for a month, with the reasons."""

    __tablename__ = "volunteer_ratings"
    __table_args__ = (
        UniqueConstraint("volunteer_id", "month", name="uq_rating_month"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    stars: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    mean_score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(300))
    rated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


# -------------------------------------------------------------- points, mall
class PointsAccount(Base):
    """The points of one volunteer or one reporter; the balance never goes below zero."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_points_balance"),
        CheckConstraint(
            "(volunteer_id IS NULL) <> (reporter_id IS NULL)", name="ck_points_one_holder"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), unique=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"), unique=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)


class PointsEntry(Base):
    """One change of an account, with its reason; ``ref`` makes each credit happen once
    (``case:17``, ``hours:2026-11``, ``duty:OP1``, ``redeem:5``)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("account_id", "ref", name="uq_points_ref"),
        Index("ix_points_entries_account_at", "account_id", "at"),
        Index("ix_points_entries_case", "case_id"),
        CheckConstraint(
            "source IN ('report', 'hours', 'duty', 'redemption', 'adjustment')",
            name="ck_points_source",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    delta: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MallItem(Base):
    """A gift of the points mall; ``stock`` never goes below zero."""

    __tablename__ = "mall_items"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_mall_stock"),
        CheckConstraint("cost > 0", name="ck_mall_cost"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Redemption(Base):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    cost: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# ------------------------------------------------------------------ buildings
class Building(Base):
    """A rental building (楼栋/出租屋) in its grid, with its building head (楼栋长)."""

    __tablename__ = "buildings"
    __table_args__ = (Index("ix_buildings_grid", "grid_id"), Index("ix_buildings_town", "town_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    units_count: Mapped[int] = mapped_column(Integer, default=0)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(GeometryType("POINT"))
    footprint: Mapped[Any | None] = mapped_column(GeometryType("POLYGON"), nullable=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    head_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    inspect_every_days: Mapped[int] = mapped_column(Integer, default=90)
    next_due: Mapped[dt.date] = mapped_column(Date)


class Inspection(Base):
    """An officer's inspection of a building: when, what was found, photos, the next due date."""

    __tablename__ = "building_inspections"
    __table_args__ = (Index("ix_inspections_building_on", "building_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    inspected_on: Mapped[dt.date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    next_due: Mapped[dt.date] = mapped_column(Date)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseBuilding(Base):
    """A case reported within a few metres of a building is linked to it."""

    __tablename__ = "case_buildings"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    distance_m: Mapped[float] = mapped_column(Float)


# ------------------------------------------------------------------ operations
class Operation(Base):
    """A major-event security operation (重大活动安保): a time window in a town."""

    __tablename__ = "operations"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="ck_operations_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    town_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    fresh_minutes: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[str] = mapped_column(String(8), default="open")
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OperationPoint(Base):
    """A key point to staff, with the headcount it needs in every shift."""

    __tablename__ = "operation_points"
    __table_args__ = (UniqueConstraint("operation_id", "code", name="uq_operation_point"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    headcount: Mapped[int] = mapped_column(Integer)


class OperationShift(Base):
    __tablename__ = "operation_shifts"
    __table_args__ = (UniqueConstraint("operation_id", "code", name="uq_operation_shift"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DutyAssignment(Base):
    """A volunteer on the roster of a point for a shift: signed up or assigned."""

    __tablename__ = "duty_assignments"
    __table_args__ = (UniqueConstraint("shift_id", "volunteer_id", name="uq_duty_shift_volunteer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("operation_points.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("operation_shifts.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    how: Mapped[str] = mapped_column(String(8))  # signup | assigned


class DutyCheckIn(Base):
    """A volunteer's check-in at a point of an operation, during a shift."""

    __tablename__ = "duty_checkins"
    __table_args__ = (
        UniqueConstraint("volunteer_id", "at", name="uq_duty_checkin"),
        Index("ix_duty_checkins_point_at", "point_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id", ondelete="CASCADE"))
    point_id: Mapped[int] = mapped_column(ForeignKey("operation_points.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("operation_shifts.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
