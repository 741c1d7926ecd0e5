"""The case loop: users, reporters, cases, audit log, photos, idempotency keys,
reward ledger, webhook deliveries, API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from grids.db import GeometryType

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scope_unit_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id")),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint(
            "role IN ('reporter', 'officer', 'dispatcher', 'patrol_leader', 'planner', 'admin')",
            name="ck_users_role",
        ),
    )
    op.create_table(
        "reporters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("identity_key", sa.String(64), nullable=False, unique=True),
        sa.Column("pseudonym", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("name", sa.String(200)),
        sa.Column("phone", sa.String(32)),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
    )
    op.create_index("ix_reporters_user_id", "reporters", ["user_id"])
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("categories.id"), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id")),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("geom", GeometryType("POINT"), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("match", sa.String(16), nullable=False),
        sa.Column("snap_distance_m", sa.Float()),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("community_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("assignee_kind", sa.String(16), nullable=False),
        sa.Column("assignee_unit_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("officer_id", sa.Integer(), sa.ForeignKey("people.id")),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("routing", sa.JSON(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), sa.ForeignKey("reporters.id")),
        sa.Column("submitted_by_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("reported_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("ack_due", TZ, nullable=False),
        sa.Column("verify_due", TZ, nullable=False),
        sa.Column("close_due", TZ, nullable=False),
        sa.Column("next_due", TZ),
        sa.Column("acknowledged_at", TZ),
        sa.Column("verified_at", TZ),
        sa.Column("resolved_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("missed", sa.String(32), nullable=False),
        sa.Column("reject_reason", sa.String(32)),
        sa.Column("possible_duplicate_of_id", sa.Integer(), sa.ForeignKey("cases.id")),
        sa.Column("duplicate_of_id", sa.Integer(), sa.ForeignKey("cases.id")),
        sa.Column("external_source", sa.String(64)),
        sa.Column("external_id", sa.String(200)),
        sa.Column("attributes", sa.JSON(), nullable=False),
    )
    for name, columns in {
        "ix_cases_grid_status": ["grid_id", "status"],
        "ix_cases_town_status": ["town_id", "status"],
        "ix_cases_officer_status": ["officer_id", "status"],
        "ix_cases_next_due": ["next_due"],
        "ix_cases_category_reported": ["category_id", "reported_at"],
        "ix_cases_reported_at": ["reported_at"],
        "ix_cases_h3": ["h3_cell"],
        "ix_cases_reporter": ["reporter_id"],
        "ix_cases_external": ["external_source", "external_id"],
    }.items():
        op.create_index(name, "cases", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_cases_geom", "cases", ["geom"], postgresql_using="gist")
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("public_note", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"])
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_photos_case_id", "photos", ["case_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id")),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
    )
    op.create_table(
        "reward_ledger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("reporter_id", sa.Integer(), sa.ForeignKey("reporters.id"), nullable=False),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("town_id", sa.Integer(), sa.ForeignKey("units.id")),
        sa.Column("amount_yuan", sa.Numeric(10, 2), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("awarded_at", TZ, nullable=False),
        sa.UniqueConstraint("case_id", name="uq_reward_case"),
    )
    op.create_index("ix_reward_reporter_at", "reward_ledger", ["reporter_id", "awarded_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index("ix_webhook_pending", "webhook_deliveries", ["delivered_at", "next_attempt_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "api_keys",
        "webhook_deliveries",
        "reward_ledger",
        "idempotency_keys",
        "photos",
        "case_events",
        "cases",
        "reporters",
        "users",
    ):
        op.drop_table(table)
