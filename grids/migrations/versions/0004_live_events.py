"""Live events: the changes pushed to the pages, kept a while for Last-Event-ID resume.

Revision ID: 0004_live_events
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_live_events"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id")),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_live_events_at", "live_events", ["at"])
    op.create_index("ix_live_events_case", "live_events", ["case_id", "id"])


def downgrade() -> None:
    op.drop_table("live_events")
