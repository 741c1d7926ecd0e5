"""The points mall over HTTP: the catalogue, and redemptions that never overdraw."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.community import MANAGERS, managed_volunteer, own_reporter_id
from api.deps import LocatorDep, SessionDep
from grids.cases.intake import require_role
from grids.community.mall import catalogue, item_view, redeem, save_item
from grids.community.points import account_for
from grids.db import transaction, utcnow
from grids.errors import InvalidInput

router = APIRouter(prefix="/mall", tags=["points"])


class ItemBody(BaseModel):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    cost: int = Field(gt=0, description="Points")
    stock: int = Field(ge=0)


class RedeemBody(BaseModel):
    item: str
    volunteer: str | None = Field(
        default=None, description="Staff redeem for a volunteer they manage; reporters omit it"
    )


@router.get("/items")
def list_items(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The catalogue: gifts, their cost in points and the stock left."""
    return catalogue(session)


@router.post("/items", status_code=201)
def create_item(request: Request, user: CurrentUser, body: ItemBody) -> dict[str, Any]:
    require_role(user, "dispatcher", "admin")
    with transaction(request.app.state.sessions) as session:
        return item_view(
            save_item(session, code=body.code, name=body.name, cost=body.cost, stock=body.stock)
        )


@router.post("/redeem", status_code=201)
def redeem_item(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    own: CurrentOwn,
    locator: LocatorDep,
    body: RedeemBody,
) -> dict[str, Any]:
    """Exchange points for one of an item: a reporter their own, staff a volunteer's.

    409 when the stock is gone or the balance is short; nothing changes then.
    """
    require_role(user, "reporter", *MANAGERS)
    with transaction(request.app.state.sessions) as session:
        if user.role == "reporter":
            if body.volunteer is not None:
                raise InvalidInput("a reporter redeems their own points; omit volunteer")
            account = account_for(session, reporter_id=own_reporter_id(session, user, own))
        else:
            if body.volunteer is None:
                raise InvalidInput("name the volunteer who redeems")
            volunteer = managed_volunteer(session, user, scope, locator.directory, body.volunteer)
            account = account_for(session, volunteer_id=volunteer.id)
        redemption = redeem(session, account, body.item, user=user, now=utcnow())
        return {"redemption": redemption.id, "cost": redemption.cost, "balance": account.balance}
