"""Bearer-token authentication: who is calling, and what they may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from api.deps import LocatorDep
from grids.accounts.models import User
from grids.accounts.reporters import OwnReports, own_reports
from grids.accounts.scope import Scope, scope_of
from grids.accounts.users import user_for_token


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


TOKEN_COOKIE = "gridwatch_token"
"""The pages' session: the token, kept in a cookie when a person signs in."""


def session_user(request: Request) -> User:
    """The caller by bearer token or, for pages and event streams, the session cookie.
    Only for reading: actions take the bearer token alone (no cross-site forgery)."""
    return _user(request, bearer_token(request) or request.cookies.get(TOKEN_COOKIE))


def current_user(request: Request) -> User:
    """The caller by bearer token."""
    return _user(request, bearer_token(request))


def _user(request: Request, token: str | None) -> User:
    """The user of a token, loaded in a session of its own that is closed at once: holding
    a connection for the whole request would starve the pool under load."""
    with request.app.state.sessions() as session:
        user = user_for_token(session, token)
        session.expunge(user)
        return user


CurrentUser = Annotated[User, Depends(current_user)]
PageUser = Annotated[User, Depends(session_user)]


def current_scope(user: CurrentUser, locator: LocatorDep) -> Scope:
    return scope_of(user, locator.directory)


CurrentScope = Annotated[Scope, Depends(current_scope)]


def page_scope(user: PageUser, locator: LocatorDep) -> Scope:
    return scope_of(user, locator.directory)


PageScope = Annotated[Scope, Depends(page_scope)]


def current_own(
    request: Request,
    user: CurrentUser,
    reporter: Annotated[
        str | None,
        Query(
            max_length=200,
            description="An app's token only: which of its users you ask for "
            "(the id the app sends as reporter.id)",
        ),
    ] = None,
) -> OwnReports:
    """The reports the caller may see as their own (an app: those of one of its users)."""
    with request.app.state.sessions() as session:
        return own_reports(session, user, reporter)


CurrentOwn = Annotated[OwnReports, Depends(current_own)]
