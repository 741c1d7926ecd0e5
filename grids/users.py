"""Users, bearer tokens, scopes, reporter pseudonyms and Open311 API keys.

Tokens are random and shown once; the store keeps only their SHA-256. A
user's scope decides which cases they see: an officer the grids they are
assigned to (as officer, or as chief of the grid or its community), a
dispatcher, patrol leader or planner the units under their scope unit, an
admin everything.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.case_models import USER_ROLES, ApiKey, Reporter, User
from grids.directory import Directory
from grids.errors import InvalidInput, NotFound
from grids.hierarchy import unit_by_code
from grids.models import Person


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
) -> tuple[User, str]:
    """A new user and their token (returned once, never stored in clear)."""
    if role not in USER_ROLES:
        raise InvalidInput(f"role must be one of {list(USER_ROLES)}, got {role!r}")
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


@dataclass(frozen=True)
class Scope:
    """Which units' cases a user may see and act on; ``None`` grids means everywhere."""

    user_id: int
    role: str
    grid_ids: frozenset[int] | None
    unit_ids: frozenset[int] | None

    @property
    def everywhere(self) -> bool:
        return self.grid_ids is None and self.unit_ids is None

    def covers(self, grid_id: int | None, town_id: int | None, community_id: int | None) -> bool:
        if self.everywhere:
            return True
        if self.grid_ids is not None:
            return grid_id in self.grid_ids
        assert self.unit_ids is not None
        return bool({grid_id, town_id, community_id} & self.unit_ids)


def scope_of(user: User, directory: Directory) -> Scope:
    """The scope of a user, resolved against the current hierarchy."""
    if user.role == "admin" or (user.role != "officer" and user.scope_unit_id is None):
        if user.role in ("admin", "planner"):
            return Scope(user.id, user.role, None, None)
        return Scope(user.id, user.role, frozenset(), frozenset())
    if user.role == "officer":
        grids: set[int] = set()
        for (unit_id, role), people in directory.roles.items():
            if role in ("officer", "chief") and any(p.id == user.person_id for p in people):
                unit = directory.units[unit_id]
                if unit.level == "grid":
                    grids.add(unit_id)
                else:
                    grids |= {
                        u.id
                        for u in directory.units.values()
                        if u.level == "grid" and unit_id in {a.id for a in directory.path(u.id)}
                    }
        return Scope(user.id, user.role, frozenset(grids), None)
    assert user.scope_unit_id is not None
    scope_unit = directory.units[user.scope_unit_id]
    if scope_unit.level == "city":
        return Scope(user.id, user.role, None, None)
    return Scope(user.id, user.role, None, frozenset({scope_unit.id}))


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
