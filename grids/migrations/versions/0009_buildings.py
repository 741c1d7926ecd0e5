"""Rental buildings and their heads, inspections, cases linked to a building.

Revision ID: 0009_buildings
Revises: 0008_points
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import GeometryType

revision = "0009_buildings"
down_revision = "0008_points"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("units_count", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("geom", GeometryType("POINT"), nullable=False),
        sa.Column("footprint", GeometryType("POLYGON"), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("head_id", sa.Integer(), nullable=True),
        sa.Column("inspect_every_days", sa.Integer(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["units.id"],
        ),
        sa.ForeignKeyConstraint(
            ["head_id"],
            ["volunteers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["town_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_buildings_grid", "buildings", ["grid_id"])
    op.create_index("ix_buildings_town", "buildings", ["town_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_buildings_geom", "buildings", ["geom"], postgresql_using="gist")
    op.create_table(
        "building_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_inspections_building_on", "building_inspections", ["building_id", "inspected_on"]
    )
    op.create_table(
        "case_buildings",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_buildings_building_id", "case_buildings", ["building_id"])


def downgrade() -> None:
    op.drop_table("case_buildings")
    op.drop_table("building_inspections")
    op.drop_table("buildings")
