"""Patrols: patrol points, teams, members, check-ins.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import GeometryType

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patrol_points",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("must_visit", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("geom", GeometryType("POINT"), nullable=False),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.CheckConstraint(
            "kind IN ('key_point', 'joint_defence_point', 'patrol_station', 'security_post')",
            name="ck_patrol_points_kind",
        ),
    )
    op.create_index("ix_patrol_points_town", "patrol_points", ["town_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_patrol_points_geom", "patrol_points", ["geom"], postgresql_using="gist")
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("units.id")),
    )
    op.create_index("ix_teams_town_id", "teams", ["town_id"])
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.UniqueConstraint("team_id", "code", name="uq_team_member_code"),
    )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("team_members.id"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("point_id", sa.Integer(), sa.ForeignKey("patrol_points.id")),
        sa.Column("received_at", TZ, nullable=False),
        sa.UniqueConstraint("member_id", "at", name="uq_checkin_member_at"),
    )
    op.create_index("ix_checkins_team_at", "checkins", ["team_id", "at"])
    op.create_index("ix_checkins_h3_at", "checkins", ["h3_cell", "at"])
    op.create_index("ix_checkins_point_at", "checkins", ["point_id", "at"])


def downgrade() -> None:
    for table in ("checkins", "team_members", "teams", "patrol_points"):
        op.drop_table(table)
