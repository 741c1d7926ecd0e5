"""Users, bearer tokens and Open311 API keys.

Tokens are random and shown once; the store keeps only their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.accounts.models import USER_ROLES, ApiKey, User
from grids.city.hierarchy import unit_by_code
from grids.city.models import Person
from grids.errors import InvalidInput, NotFound


class NotAuthenticated(InvalidInput):
    """No token, or a token the store does not know."""


class Forbidden(InvalidInput):
    """A known user asking for something outside their role or scope."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    name: str,
    role: str,
    *,
    scope_code: str | None = None,
    person_code: str | None = None,
    app: bool = False,
) -> tuple[User, str]:
    """A new user and their token (returned once, never stored in clear).

    ``app`` makes a reporter an app that submits for its own users (see
    :mod:`grids.accounts.reporters`).
    """
    if role not in USER_ROLES:
        raise InvalidInput(f"role must be one of {list(USER_ROLES)}, got {role!r}")
    if app and role != "reporter":
        raise InvalidInput(f"only a reporter can be an app acting for its users (not role {role})")
    scope = unit_by_code(session, scope_code) if scope_code else None
    if role in ("dispatcher", "patrol_leader") and scope is None:
        raise InvalidInput(f"a {role} needs --scope UNIT_CODE (their town or city)")
    person = None
    if person_code:
        person = session.scalar(select(Person).where(Person.code == person_code))
        if person is None:
            raise NotFound(f"no person with code {person_code!r}")
    if role == "officer" and person is None:
        raise InvalidInput("an officer user needs --person CODE (the officer in people.csv)")
    token = secrets.token_urlsafe(32)
    user = User(
        name=name,
        role=role,
        scope_unit_id=scope.id if scope else None,
        person_id=person.id if person else None,
        token_hash=token_hash(token),
        active=True,
        is_app=app,
    )
    session.add(user)
    session.flush()
    return user, token


def user_for_token(session: Session, token: str | None) -> User:
    if not token:
        raise NotAuthenticated("this endpoint needs a bearer token: Authorization: Bearer <token>")
    user = session.scalar(select(User).where(User.token_hash == token_hash(token)))
    if user is None or not user.active:
        raise NotAuthenticated("unknown or revoked token")
    return user


def create_api_key(session: Session, name: str) -> str:
    """A new Open311 API key for a client application (printed once)."""
    key = secrets.token_urlsafe(24)
    session.add(ApiKey(name=name, key_hash=token_hash(key)))
    session.flush()
    return key


def check_api_key(session: Session, key: str | None) -> ApiKey:
    if not key:
        raise Forbidden("api_key is required")
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == token_hash(key)))
    if found is None:
        raise Forbidden("invalid api_key")
    return found
