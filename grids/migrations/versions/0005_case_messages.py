"""The conversation on a case: messages between the reporter and the handling side.

Revision ID: 0005_case_messages
Revises: 0004_live_events
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_case_messages"
down_revision = "0004_live_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("author_role", sa.String(16), nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.CheckConstraint("side IN ('reporter', 'staff')", name="ck_case_messages_side"),
    )
    op.create_index("ix_case_messages_case", "case_messages", ["case_id", "id"])


def downgrade() -> None:
    op.drop_table("case_messages")
