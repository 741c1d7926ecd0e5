"""Migration 0008_points: the reward ledger's points move into the one points ledger, each
award an entry of its reporter's account, the balance their sum — on both backends."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from grids.community.models import PointsAccount, PointsEntry
from grids.db import alembic_config, upgrade_schema
from tests.conftest import Store
from tests.grids.test_identity_migration import seed_0003


def test_reward_points_become_entries_of_the_reporters_account(store: Store) -> None:
    config = alembic_config(store.engine)
    command.downgrade(config, "0005_case_messages")
    with store.engine.begin() as conn:
        ids = seed_0003(conn)
    command.upgrade(config, "0007_volunteers")
    now = dt.datetime.now(dt.UTC)
    ledger = sa.table(
        "reward_ledger",
        *(sa.column(c) for c in ("case_id", "reporter_id", "amount_yuan", "points", "note")),
        sa.column("awarded_at", sa.DateTime(timezone=True)),
    )
    with store.engine.begin() as conn:
        for case, points in (("own_case", 3), ("stolen_case", 5)):
            conn.execute(
                ledger.insert().values(
                    case_id=ids[case],
                    reporter_id=ids["phone_reporter"],
                    amount_yuan=5,
                    points=points,
                    note="",
                    awarded_at=now,
                )
            )
    upgrade_schema(store.engine)
    with store.sessions() as session:
        account = session.scalar(
            select(PointsAccount).where(PointsAccount.reporter_id == ids["phone_reporter"])
        )
        assert account is not None and account.balance == 8
        entries = session.scalars(
            select(PointsEntry).where(PointsEntry.account_id == account.id).order_by(PointsEntry.id)
        ).all()
        assert [(e.case_id, e.delta, e.source) for e in entries] == [
            (ids["own_case"], 3, "report"),
            (ids["stolen_case"], 5, "report"),
        ]
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("reward_ledger")}
    assert "points" not in columns
