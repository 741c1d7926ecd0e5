"""Reporters: who reported, kept for rewards and feedback, shown only as a pseudonym."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter, User


def pseudonym(secret: str, identity_key: str) -> str:
    """A stable pseudonym for a reporter: officers and the public never see who reported."""
    digest = hmac.new(secret.encode(), identity_key.encode(), hashlib.sha256).hexdigest()
    return f"居民-{digest[:6].upper()}"


def reporter_for(
    session: Session,
    secret: str,
    *,
    user: User | None,
    external_id: str | None,
    name: str | None,
    phone: str | None,
) -> Reporter | None:
    """The reporter of a submission: by the app's reporter id, else phone, else the caller."""
    if external_id:
        key = f"ext:{user.id if user else 0}:{external_id}"
    elif phone:
        key = f"phone:{phone}"
    elif user is not None and user.role == "reporter":
        key = f"user:{user.id}"
    else:
        return None
    identity_key = hashlib.sha256(key.encode()).hexdigest()
    reporter = session.scalar(select(Reporter).where(Reporter.identity_key == identity_key))
    if reporter is None:
        reporter = Reporter(
            identity_key=identity_key,
            pseudonym=pseudonym(secret, identity_key),
            external_id=external_id,
            user_id=user.id if user is not None and user.role == "reporter" else None,
        )
        session.add(reporter)
    reporter.name = name or reporter.name
    reporter.phone = phone or reporter.phone
    session.flush()
    return reporter
