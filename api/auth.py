"""Bearer-token authentication: who is calling, and what they may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.deps import LocatorDep, SessionDep
from grids.case_models import User
from grids.users import Scope, scope_of, user_for_token


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_user(request: Request, session: SessionDep) -> User:
    return user_for_token(session, bearer_token(request))


CurrentUser = Annotated[User, Depends(current_user)]


def current_scope(user: CurrentUser, locator: LocatorDep) -> Scope:
    return scope_of(user, locator.directory)


CurrentScope = Annotated[Scope, Depends(current_scope)]
