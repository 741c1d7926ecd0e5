"""SQLAlchemy models of who calls the service: users with tokens, reporters, API keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from grids.city.models import Base
from grids.db import UtcDateTime, utcnow

USER_ROLES: tuple[str, ...] = (
    "reporter",
    "officer",
    "dispatcher",
    "patrol_leader",
    "planner",
    "admin",
)


class User(Base):
    """Someone who calls the API with a bearer token (stored as a SHA-256 hash only)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('reporter', 'officer', 'dispatcher', 'patrol_leader', 'planner', 'admin')",
            name="ck_users_role",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # a reporter app (e.g. a WeChat mini program) that submits for its own users, each named
    # by the app's id for them; a personal reporter account is itself the reporter
    is_app: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Reporter(Base):
    """Whoever reported: an account, or an app's user; shown only as a pseudonym.

    Never a phone number or a name: those are contact data of one report (``Case.contact``).
    """

    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_key: Mapped[str] = mapped_column(String(64), unique=True)
    pseudonym: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class ApiKey(Base):
    """An Open311 client's key (stored hashed)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
