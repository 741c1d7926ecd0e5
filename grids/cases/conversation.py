"""The conversation on a case: messages between the reporter and the handling side.

A message is stored with the case, written to its audit log, pushed live, and —
when it goes to the reporter — offered to the webhooks (``case.message``), so a
WeChat or SMS gateway can deliver it. Officers and dispatchers see the reporter
as their pseudonym only; the reporter sees the handling side by role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from grids.accounts.models import User
from grids.accounts.users import Forbidden
from grids.cases.intake import CaseConfig, add_event
from grids.cases.models import Case
from grids.city.models import Base
from grids.db import UtcDateTime, utcnow
from grids.errors import InvalidInput
from grids.events import publish
from grids.exchange.webhooks import enqueue

MAX_CHARS = 2000
STAFF_ROLES = ("officer", "dispatcher", "admin")
ROLE_NAMES = {
    "officer": "网格员 / grid officer",
    "dispatcher": "调度中心 / dispatch centre",
    "admin": "调度中心 / dispatch centre",
}


class CaseMessage(Base):
    """One message of a case's conversation; ``side`` is ``reporter`` or ``staff``."""

    __tablename__ = "case_messages"
    __table_args__ = (
        Index("ix_case_messages_case", "case_id", "id"),
        CheckConstraint("side IN ('reporter', 'staff')", name="ck_case_messages_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)


def post_message(
    session: Session,
    config: CaseConfig,
    item: Case,
    body: str,
    *,
    user: User,
    now: dt.datetime | None = None,
) -> CaseMessage:
    """Add a message to a case the user may see (the caller checked); the caller commits."""
    now = now or utcnow()
    if user.role == "reporter":
        side = "reporter"
    elif user.role in STAFF_ROLES:
        side = "staff"
    else:
        raise Forbidden(
            f"a {user.role} may not write on a case; the reporter, officers and dispatchers may"
        )
    text = body.strip()
    if not text:
        raise InvalidInput("a message needs some text")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"a message is at most {MAX_CHARS} characters, this one {len(text)}")
    message = CaseMessage(
        case_id=item.id, at=now, author_user_id=user.id, author_role=user.role, side=side, body=text
    )
    session.add(message)
    session.flush()
    add_event(
        session,
        item,
        "message",
        item.status,
        item.status,
        actor_user=user,
        actor_role=user.role,
        note=text,
        data={"message_id": message.id, "side": side},
        at=now,
    )
    if side == "staff":
        reporter = item.reporter
        enqueue(
            session,
            config.webhooks,
            "case.message",
            {
                "case_id": item.id,
                "message_id": message.id,
                "text": text,
                "from": ROLE_NAMES[user.role],
                "to": {
                    "pseudonym": reporter.pseudonym if reporter else None,
                    "app_user_id": reporter.external_id if reporter else None,
                    "user_id": reporter.user_id if reporter else None,
                },
            },
        )
    publish(session, "case.message", case=item, data={"message_id": message.id, "side": side})
    return message


def conversation(session: Session, item: Case, *, viewer: User) -> list[dict[str, Any]]:
    """The messages of a case, oldest first, as the viewer may see them."""
    rows = session.scalars(
        select(CaseMessage).where(CaseMessage.case_id == item.id).order_by(CaseMessage.id)
    ).all()
    names = dict(
        session.execute(
            select(User.id, User.name).where(User.id.in_({r.author_user_id for r in rows}))
        ).all()
    )
    pseudonym = item.reporter.pseudonym if item.reporter else "居民 / resident"
    return [message_view(r, viewer, pseudonym, names.get(r.author_user_id or 0)) for r in rows]


def message_view(
    row: CaseMessage, viewer: User, pseudonym: str, author_name: str | None
) -> dict[str, Any]:
    """One message for one viewer: a reporter sees roles, staff see the reporter's pseudonym."""
    if row.side == "reporter":
        author = "我 / me" if viewer.role == "reporter" else pseudonym
    elif viewer.role == "reporter":
        author = ROLE_NAMES.get(row.author_role, row.author_role)
    else:
        author = f"{author_name or row.author_role} ({row.author_role})"
    return {
        "id": row.id,
        "at": row.at.isoformat(timespec="seconds"),
        "side": row.side,
        "author": author,
        "mine": row.author_user_id == viewer.id,
        "body": row.body,
    }
