"""SQLAlchemy models of the case loop: cases, their audit log, photos, idempotency keys,
the reward ledger and webhook deliveries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grids.city.models import Base
from grids.db import GeometryType, UtcDateTime, utcnow

STATUSES: tuple[str, ...] = (
    "reported",
    "routed",
    "acknowledged",
    "verified",
    "rejected",
    "in_progress",
    "resolved",
    "closed",
)
OPEN_STATUSES: tuple[str, ...] = ("reported", "routed", "acknowledged", "verified", "in_progress")
_OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


class Case(Base):
    """A report and its way through the loop; ``version`` detects concurrent changes."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_grid_status", "grid_id", "status"),
        Index("ix_cases_town_status", "town_id", "status"),
        Index("ix_cases_officer_status", "officer_id", "status"),
        Index("ix_cases_next_due", "next_due"),
        Index("ix_cases_category_reported", "category_id", "reported_at"),
        Index("ix_cases_reported_at", "reported_at"),
        Index("ix_cases_h3", "h3_cell"),
        Index("ix_cases_reporter", "reporter_id"),
        Index("ix_cases_external", "external_source", "external_id"),
        # a store at size (0011_size_indexes): a town's summary and month, the city's week
        Index("ix_cases_town_updated", "town_id", "updated_at"),
        Index("ix_cases_town_reported", "town_id", "reported_at"),
        Index("ix_cases_updated_at", "updated_at"),
        # open cases only: the duplicate check of every intake, the open arm of a summary
        Index(
            "ix_cases_open_category",
            "category_id",
            "lat",
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(GeometryType("POINT"))
    h3_cell: Mapped[int] = mapped_column(BigInteger)
    match: Mapped[str] = mapped_column(String(16))
    snap_distance_m: Mapped[float | None] = mapped_column(Float)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    routing: Mapped[dict[str, Any]] = mapped_column(JSON)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("reporters.id"))
    # what the reporter block said (id, name, phone): contact data for admins, never identity
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ack_due: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    verify_due: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    close_due: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    # the deadline the case is working towards now (None once resolved, rejected or closed)
    next_due: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    missed: Mapped[str] = mapped_column(String(32), default="")
    reject_reason: Mapped[str | None] = mapped_column(String(32))
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    category = relationship("Category")
    reporter = relationship("Reporter")


class CaseEvent(Base):
    """One row of the append-only audit log: who did what to a case, when, where and why."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case", "case_id", "id"),
        Index("ix_case_events_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    public_note: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Photo(Base):
    """A photo of a case, stored re-encoded without EXIF under a generated name."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IdempotencyKey(Base):
    """The first result of a request with an ``Idempotency-Key``, returned to its retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RewardEntry(Base):
    """The money ledger: every award (红包) for a verified valid report; its points are an
    entry of the one points ledger (``grids.community.points``)."""

    __tablename__ = "reward_ledger"
    __table_args__ = (
        UniqueConstraint("case_id", name="uq_reward_case"),
        Index("ix_reward_reporter_at", "reporter_id", "awarded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    note: Mapped[str] = mapped_column(String(200), default="")
    awarded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class WebhookDelivery(Base):
    """An outbound webhook call, recorded with the event so none is lost when a receiver is down."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
