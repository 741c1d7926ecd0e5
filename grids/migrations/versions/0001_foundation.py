"""Foundation: units, departments, categories, people, assignments, rosters.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import GeometryType

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("geom", GeometryType("MULTIPOLYGON")),
        sa.Column("area_m2", sa.Float()),
        sa.Column("min_lon", sa.Float()),
        sa.Column("min_lat", sa.Float()),
        sa.Column("max_lon", sa.Float()),
        sa.Column("max_lat", sa.Float()),
        sa.CheckConstraint("level IN ('city', 'town', 'community', 'grid')", name="ck_units_level"),
    )
    op.create_index("ix_units_code", "units", ["code"], unique=True)
    op.create_index("ix_units_parent_id", "units", ["parent_id"])
    op.create_index("ix_units_level_parent", "units", ["level", "parent_id"])
    op.create_index("ix_units_bbox", "units", ["min_lon", "max_lon", "min_lat", "max_lat"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_units_geom", "units", ["geom"], postgresql_using="gist")

    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200)),
        sa.Column("group", sa.String(32), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("ack_minutes", sa.Integer(), nullable=False),
        sa.Column("verify_minutes", sa.Integer(), nullable=False),
        sa.Column("close_minutes", sa.Integer(), nullable=False),
        sa.Column("reward_yuan", sa.Numeric(10, 2), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("duplicate_radius_m", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "ack_minutes > 0 AND verify_minutes >= ack_minutes AND close_minutes >= verify_minutes",
            name="ck_categories_deadlines",
        ),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32)),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.UniqueConstraint("person_id", "unit_id", "role", name="uq_assignments"),
        sa.CheckConstraint(
            "role IN ('officer', 'chief', 'dispatcher')", name="ck_assignments_role"
        ),
    )
    op.create_index("ix_assignments_unit_id", "assignments", ["unit_id"])
    op.create_table(
        "roster_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("weekdays", sa.String(7), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date()),
    )
    op.create_index("ix_roster_unit", "roster_entries", ["unit_id"])
    op.create_table(
        "store_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO store_revision (id, revision) VALUES (1, 0)")


def downgrade() -> None:
    for table in (
        "store_revision",
        "roster_entries",
        "assignments",
        "people",
        "categories",
        "departments",
        "units",
    ):
        op.drop_table(table)
