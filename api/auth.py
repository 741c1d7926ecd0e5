"""Bearer-token authentication: who is calling, and what they may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import LocatorDep
from grids.accounts.models import User
from grids.accounts.scope import Scope, scope_of
from grids.accounts.users import user_for_token


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_user(request: Request) -> User:
    """The caller, loaded in a session of its own that is closed at once: holding a
    connection for the whole request would starve the pool under load."""
    with request.app.state.sessions() as session:
        user = user_for_token(session, bearer_token(request))
        session.expunge(user)
        return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_scope(user: CurrentUser, locator: LocatorDep) -> Scope:
    return scope_of(user, locator.directory)


CurrentScope = Annotated[Scope, Depends(current_scope)]
