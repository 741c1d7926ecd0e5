"""The one points ledger (volunteers and reporters) and the points mall.

The points of the reward ledger move into it: every award's points become an entry
(``case:<id>``) of the reporter's account, and ``reward_ledger.points`` goes.

Revision ID: 0008_points
Revises: 0007_volunteers
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import UtcDateTime

revision = "0008_points"
down_revision = "0007_volunteers"
branch_labels = None
depends_on = None

TZ = UtcDateTime()


def upgrade() -> None:
    op.create_table(
        "points_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(volunteer_id IS NULL) <> (reporter_id IS NULL)", name="ck_points_one_holder"
        ),
        sa.CheckConstraint("balance >= 0", name="ck_points_balance"),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["reporters.id"],
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reporter_id"),
        sa.UniqueConstraint("volunteer_id"),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.CheckConstraint(
            "source IN ('report', 'hours', 'duty', 'redemption', 'adjustment')",
            name="ck_points_source",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["points_accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "ref", name="uq_points_ref"),
    )
    op.create_index("ix_points_entries_account_at", "points_entries", ["account_id", "at"])
    op.create_index("ix_points_entries_case", "points_entries", ["case_id"])
    op.create_table(
        "mall_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("cost > 0", name="ck_mall_cost"),
        sa.CheckConstraint("stock >= 0", name="ck_mall_stock"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["points_accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["mall_items.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_redemptions_account_id", "redemptions", ["account_id"])

    _move_reward_points()


def _move_reward_points() -> None:
    """Each award's points become an entry of its reporter's account; the column goes."""
    bind = op.get_bind()
    ledger = sa.table(
        "reward_ledger",
        sa.column("case_id"),
        sa.column("reporter_id"),
        sa.column("points"),
        sa.column("awarded_at", UtcDateTime()),
    )
    accounts = sa.table(
        "points_accounts", sa.column("id"), sa.column("reporter_id"), sa.column("balance")
    )
    entries = sa.table(
        "points_entries",
        sa.column("account_id"),
        sa.column("delta"),
        sa.column("source"),
        sa.column("ref"),
        sa.column("reason"),
        sa.column("case_id"),
        sa.column("at", UtcDateTime()),
    )
    rows = bind.execute(
        sa.select(ledger.c.case_id, ledger.c.reporter_id, ledger.c.points, ledger.c.awarded_at)
        .where(ledger.c.points > 0)
        .order_by(ledger.c.case_id)
    ).all()
    account_of: dict[int, int] = {}
    totals: dict[int, int] = {}
    for case_id, reporter_id, points, awarded_at in rows:
        if reporter_id not in account_of:
            bind.execute(accounts.insert().values(reporter_id=reporter_id, balance=0))
            account_of[reporter_id] = bind.execute(
                sa.select(accounts.c.id).where(accounts.c.reporter_id == reporter_id)
            ).scalar_one()
        account = account_of[reporter_id]
        bind.execute(
            entries.insert().values(
                account_id=account,
                delta=int(points),
                source="report",
                ref=f"case:{case_id}",
                reason=f"verified report #{case_id}",
                case_id=case_id,
                at=awarded_at,
            )
        )
        totals[account] = totals.get(account, 0) + int(points)
    for account, total in totals.items():
        bind.execute(accounts.update().where(accounts.c.id == account).values(balance=total))
    with op.batch_alter_table("reward_ledger") as batch:
        batch.drop_column("points")


def downgrade() -> None:
    with op.batch_alter_table("reward_ledger") as batch:
        batch.add_column(sa.Column("points", sa.Integer(), nullable=False, server_default="0"))
    op.drop_table("redemptions")
    op.drop_table("mall_items")
    op.drop_table("points_entries")
    op.drop_table("points_accounts")
