"""Reporters: who reported, kept for rewards and feedback, shown only as a pseudonym.

A reporter is an identity that the door vouches for, never a phone number or a
name typed into a report (those are contact data of that one report):

- a personal reporter account is its own reporter;
- a reporter app (a reporter account created as an app, e.g. a WeChat mini
  program) acts for its users: each is a reporter of its own, named by the
  app's id for them (``reporter.id``); a report from an app that names no user
  has no reporter and earns nothing;
- an Open311 client acts for its users the same way, by ``account_id`` (or
  ``email``), each client in a namespace of its own;
- the service's own doors (the sample city, importers) name reporters by their
  source's ids.

Staff who submit (an officer, a hotline dispatcher) are no reporter.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grids.accounts.models import Reporter, User
from grids.errors import InvalidInput


def pseudonym(secret: str, identity_key: str) -> str:
    """A stable pseudonym for a reporter: officers and the public never see who reported."""
    digest = hmac.new(secret.encode(), identity_key.encode(), hashlib.sha256).hexdigest()
    return f"居民-{digest[:6].upper()}"


def reporter_key(
    user: User | None, app_user_id: str | None, *, client_id: int | None = None
) -> str | None:
    """The identity a report is filed under (see the module docstring), or None for none."""
    if client_id is not None:  # an Open311 client for one of its users
        return f"open311:{client_id}:{app_user_id}" if app_user_id else None
    if user is None:  # the service's own doors
        return f"ext:0:{app_user_id}" if app_user_id else None
    if user.role != "reporter":
        return None
    if user.is_app:
        return f"ext:{user.id}:{app_user_id}" if app_user_id else None
    return f"user:{user.id}"


def open311_user_id(account_id: str | None, email: str | None) -> str | None:
    """Which of an Open311 client's users files a request: its ``account_id``, else ``email``."""
    return (account_id or "").strip() or (email or "").strip().lower() or None


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def reporter_columns(
    secret: str, key: str, *, external_id: str | None, user_id: int | None
) -> dict[str, str | int | None]:
    """The columns of a new reporter filed under ``key`` (see :func:`reporter_key`)."""
    identity_key = _hashed(key)
    return {
        "identity_key": identity_key,
        "pseudonym": pseudonym(secret, identity_key),
        "external_id": external_id,
        "user_id": user_id,
    }


def reporter_for(
    session: Session,
    secret: str,
    *,
    user: User | None,
    app_user_id: str | None,
    client_id: int | None = None,
) -> Reporter | None:
    """The reporter of a submission, created on first use; None when no identity vouches.

    Concurrent first reports of one reporter meet on the identity's unique key: the
    insert runs in a savepoint, and the loser (which waited for the winner's commit)
    reads the winner's row instead of failing the report.
    """
    key = reporter_key(user, app_user_id, client_id=client_id)
    if key is None:
        return None
    identity_key = _hashed(key)
    query = select(Reporter).where(Reporter.identity_key == identity_key)
    reporter = session.scalar(query)
    if reporter is not None:
        return reporter
    personal = user is not None and key == f"user:{user.id}"
    reporter = Reporter(
        **reporter_columns(
            secret,
            key,
            external_id=None if personal else app_user_id,
            user_id=user.id if personal and user is not None else None,
        )
    )
    try:
        with session.begin_nested():
            session.add(reporter)
    except IntegrityError:
        found = session.scalar(query)
        if found is None:
            raise
        return found
    return reporter


@dataclass(frozen=True)
class OwnReports:
    """Which reports a caller may see as their own: what their account filed, or, for an
    app, what it filed for one of its users (``reporter_id`` None: nothing yet)."""

    submitted_by_id: int | None
    reporter_id: int | None

    def owns(self, submitted_by_id: int | None, reporter_id: int | None) -> bool:
        if self.submitted_by_id is not None:
            return submitted_by_id == self.submitted_by_id
        return self.reporter_id is not None and reporter_id == self.reporter_id


def own_reports(session: Session, user: User, app_user_id: str | None) -> OwnReports:
    """The caller's own reports; an app must say which of its users it asks for."""
    if not user.is_app:
        if app_user_id:
            raise InvalidInput(
                "reporter names one of an app's users; this token is a personal account, "
                "whose own reports are listed without it"
            )
        return OwnReports(submitted_by_id=user.id, reporter_id=None)
    if not app_user_id:
        raise InvalidInput(
            "this token is an app's: say which of its users you ask for with "
            "?reporter=ID (the id the app sends as reporter.id)"
        )
    key = reporter_key(user, app_user_id)
    assert key is not None
    found = session.scalar(select(Reporter.id).where(Reporter.identity_key == _hashed(key)))
    return OwnReports(submitted_by_id=None, reporter_id=found)
