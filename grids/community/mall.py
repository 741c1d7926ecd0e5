"""The points mall (积分商城): a catalogue of gifts with stock, and redemptions.

A redemption takes one of the item's stock and debits the account in one
transaction, each with a conditional ``UPDATE`` (``... WHERE stock > 0``,
``... WHERE balance >= cost``): a row lock on PostgreSQL, a write lock on SQLite. Of
many concurrent requests for the last item exactly one succeeds, and no balance
goes below zero; a refused one changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from grids.accounts.models import User
from grids.community.models import MallItem, PointsAccount, PointsEntry, Redemption
from grids.errors import Conflict, InvalidInput, NotFound


class NotEnoughPoints(Conflict):
    """The balance is short of the item's cost."""


class OutOfStock(Conflict):
    """The item has no stock left."""


def save_item(session: Session, *, code: str, name: str, cost: int, stock: int) -> MallItem:
    """Create or update (by code) an item of the catalogue."""
    if cost <= 0 or stock < 0:
        raise InvalidInput("an item costs more than 0 points and has a stock of 0 or more")
    item = session.scalar(select(MallItem).where(MallItem.code == code)) or MallItem(code=code)
    item.name, item.cost, item.stock, item.active = name, cost, stock, True
    session.add(item)
    session.flush()
    return item


def catalogue(session: Session) -> list[dict[str, Any]]:
    items = session.scalars(
        select(MallItem).where(MallItem.active.is_(True)).order_by(MallItem.cost, MallItem.code)
    )
    return [item_view(i) for i in items]


def item_view(item: MallItem) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "cost": item.cost, "stock": item.stock}


def _changed(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def redeem(
    session: Session,
    account: PointsAccount,
    item_code: str,
    *,
    user: User | None,
    now: dt.datetime,
) -> Redemption:
    """Exchange points for one of an item; raises (and changes nothing) when the stock is
    gone or the balance is short."""
    item = session.scalar(
        select(MallItem).where(MallItem.code == item_code, MallItem.active.is_(True))
    )
    if item is None:
        raise NotFound(f"no item {item_code!r} in the mall")
    taken = session.execute(
        update(MallItem)
        .where(MallItem.id == item.id, MallItem.stock > 0)
        .values(stock=MallItem.stock - 1)
        .execution_options(synchronize_session=False)
    )
    if _changed(taken) != 1:
        raise OutOfStock(f"{item.name} ({item.code}) is out of stock")
    debited = session.execute(
        update(PointsAccount)
        .where(PointsAccount.id == account.id, PointsAccount.balance >= item.cost)
        .values(balance=PointsAccount.balance - item.cost)
        .execution_options(synchronize_session=False)
    )
    if _changed(debited) != 1:
        session.refresh(account)
        raise NotEnoughPoints(
            f"{item.name} costs {item.cost} points; the balance is {account.balance}"
        )
    redemption = Redemption(
        item_id=item.id,
        account_id=account.id,
        cost=item.cost,
        at=now,
        by_user_id=user.id if user else None,
    )
    session.add(redemption)
    session.flush()
    session.add(
        PointsEntry(
            account_id=account.id,
            delta=-item.cost,
            source="redemption",
            ref=f"redeem:{redemption.id}",
            reason=f"redeemed {item.name} ({item.code})",
            at=now,
        )
    )
    session.flush()
    session.refresh(account)
    session.refresh(item)
    return redemption
