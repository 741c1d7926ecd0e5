"""Dependencies of the routes: the settings, a database session, the grid locator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.settings import Settings
from grids.city.locator import GridLocator


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_locator(request: Request) -> GridLocator:
    return request.app.state.locators.get()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
LocatorDep = Annotated[GridLocator, Depends(get_locator)]
