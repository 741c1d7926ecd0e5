"""Major-event security operations: points, shifts, the duty roster, check-ins.

Revision ID: 0010_operations
Revises: 0009_buildings
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import UtcDateTime

revision = "0010_operations"
down_revision = "0009_buildings"
branch_labels = None
depends_on = None

TZ = UtcDateTime()


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("fresh_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_operations_status"),
        sa.ForeignKeyConstraint(
            ["town_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "operation_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("operation_id", "code", name="uq_operation_point"),
    )
    op.create_table(
        "operation_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("operation_id", "code", name="uq_operation_shift"),
    )
    op.create_table(
        "duty_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["point_id"], ["operation_points.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shift_id"], ["operation_shifts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shift_id", "volunteer_id", name="uq_duty_shift_volunteer"),
    )
    op.create_table(
        "duty_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["point_id"], ["operation_points.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shift_id"], ["operation_shifts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volunteer_id", "at", name="uq_duty_checkin"),
    )
    op.create_index("ix_duty_checkins_point_at", "duty_checkins", ["point_id", "at"])


def downgrade() -> None:
    op.drop_table("duty_checkins")
    op.drop_table("duty_assignments")
    op.drop_table("operation_shifts")
    op.drop_table("operation_points")
    op.drop_table("operations")
