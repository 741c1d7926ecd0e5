"""Indexes for a store at size: a town's summary and month, open cases nearby, escalations.

Each serves one of the questions the query-plan test asks of a million-case store
(tests/grids/test_query_plans.py): without them PostgreSQL reads every case of a town (or
every audit row) for a week's summary and BitmapAnds two wide indexes for a town's month.
Open cases get a partial index (both backends support ``WHERE``): they are a few percent of
a store's cases and the duplicate check of every intake looks only at them.

Revision ID: 0011_size_indexes
Revises: 0010_operations
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_size_indexes"
down_revision = "0010_operations"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('reported', 'routed', 'acknowledged', 'verified', 'in_progress')")
CASE_INDEXES = {
    "ix_cases_town_updated": ["town_id", "updated_at"],
    "ix_cases_town_reported": ["town_id", "reported_at"],
    "ix_cases_updated_at": ["updated_at"],
}


def upgrade() -> None:
    for name, columns in CASE_INDEXES.items():
        op.create_index(name, "cases", columns)
    op.create_index(
        "ix_cases_open_category",
        "cases",
        ["category_id", "lat"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index("ix_case_events_action_at", "case_events", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_case_events_action_at", table_name="case_events")
    op.drop_index("ix_cases_open_category", table_name="cases")
    for name in reversed(CASE_INDEXES):
        op.drop_index(name, table_name="cases")
