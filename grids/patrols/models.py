"""SQLAlchemy models of patrols: patrol points, teams and their members, check-ins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from grids.city.models import Base
from grids.db import GeometryType, UtcDateTime

POINT_KINDS: tuple[str, ...] = (
    "key_point",
    "joint_defence_point",
    "patrol_station",
    "security_post",
)
"""重点点位, 警民联防点, patrol stations and security posts."""


class PatrolPoint(Base):
    """A place patrols go to; ``must_visit`` points are visited every shift."""

    __tablename__ = "patrol_points"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('key_point', 'joint_defence_point', 'patrol_station', 'security_post')",
            name="ck_patrol_points_kind",
        ),
        Index("ix_patrol_points_town", "town_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    must_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(GeometryType("POINT"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))


class Team(Base):
    """A patrol team (义警队, community patrol) of a town."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)


class TeamMember(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "code", name="uq_team_member_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))


class CheckIn(Base):
    """A member's position at a time, as their phone recorded it (UTC)."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("member_id", "at", name="uq_checkin_member_at"),
        Index("ix_checkins_team_at", "team_id", "at"),
        Index("ix_checkins_h3_at", "h3_cell", "at"),
        Index("ix_checkins_point_at", "point_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("team_members.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    h3_cell: Mapped[int] = mapped_column(BigInteger)
    point_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_points.id"))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
