"""Volunteers: the registry, recorded service activities, evaluations, monthly ratings.

Revision ID: 0007_volunteers
Revises: 0006_case_rules
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import UtcDateTime

revision = "0007_volunteers"
down_revision = "0006_case_rules"
branch_labels = None
depends_on = None

TZ = UtcDateTime()


def upgrade() -> None:
    op.create_table(
        "volunteers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("real_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("pseudonym", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("joined_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["team_members.id"],
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("member_id"),
    )
    op.create_index("ix_volunteers_team", "volunteers", ["team_id"])
    op.create_index("ix_volunteers_unit", "volunteers", ["unit_id"])
    op.create_table(
        "service_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("hours > 0 AND hours <= 24", name="ck_service_activities_hours"),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_service_activities_volunteer_at", "service_activities", ["volunteer_id", "started_at"]
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_evaluations_score"),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evaluations_volunteer_at", "evaluations", ["volunteer_id", "at"])
    op.create_table(
        "volunteer_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("mean_score", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("rated_at", TZ, nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_ratings_stars"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("volunteer_id", "month", name="uq_rating_month"),
    )


def downgrade() -> None:
    op.drop_table("volunteer_ratings")
    op.drop_table("evaluations")
    op.drop_table("service_activities")
    op.drop_table("volunteers")
