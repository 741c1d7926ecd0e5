"""Identities the door vouches for: reporter apps, contact data on the case, no phone identities.

- ``users.is_app``: a reporter app acting for its users. Reporter accounts that
  filed for users of their own (reporters with an external id) were apps.
- ``cases.contact``: the name and phone typed into a report, copied from the
  reporter rows, which lose their ``name`` and ``phone``.
- Reporters keyed by a phone number are retired: their key matches nothing any
  more and no account owns them, so no later report carrying that number joins
  their history or their rewards (each account keeps the reports it filed).
- Reporters of an app's users belong to no account.

Revision ID: 0006_case_rules
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006_case_rules"
down_revision = "0005_case_messages"
branch_labels = None
depends_on = None


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def upgrade() -> None:
    # plain ALTER TABLE on both backends (SQLite drops columns since 3.35), so no table is
    # copied and dropped under the foreign keys that point at it
    op.add_column(
        "users", sa.Column("is_app", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("cases", sa.Column("contact", sa.JSON()))

    bind = op.get_bind()
    users = sa.table("users", sa.column("id"), sa.column("role"), sa.column("is_app"))
    reporters = sa.table(
        "reporters",
        sa.column("id"),
        sa.column("identity_key"),
        sa.column("external_id"),
        sa.column("name"),
        sa.column("phone"),
        sa.column("user_id"),
    )
    cases = sa.table("cases", sa.column("reporter_id"), sa.column("contact", sa.JSON()))

    apps = sa.select(reporters.c.user_id).where(
        reporters.c.external_id.is_not(None), reporters.c.user_id.is_not(None)
    )
    bind.execute(
        users.update().where(users.c.role == "reporter", users.c.id.in_(apps)).values(is_app=True)
    )
    bind.execute(
        reporters.update().where(reporters.c.external_id.is_not(None)).values(user_id=None)
    )
    rows = bind.execute(
        sa.select(
            reporters.c.id,
            reporters.c.identity_key,
            reporters.c.external_id,
            reporters.c.name,
            reporters.c.phone,
        )
    ).all()
    for reporter_id, identity_key, external_id, name, phone in rows:
        contact = {k: v for k, v in (("id", external_id), ("name", name), ("phone", phone)) if v}
        if contact:
            bind.execute(
                cases.update().where(cases.c.reporter_id == reporter_id).values(contact=contact)
            )
        if phone and identity_key == _hashed(f"phone:{phone}"):
            bind.execute(
                reporters.update()
                .where(reporters.c.id == reporter_id)
                .values(identity_key=_hashed(f"retired-phone:{reporter_id}"), user_id=None)
            )
    op.drop_column("reporters", "name")
    op.drop_column("reporters", "phone")


def downgrade() -> None:
    op.add_column("reporters", sa.Column("name", sa.String(200)))
    op.add_column("reporters", sa.Column("phone", sa.String(32)))
    op.drop_column("cases", "contact")
    op.drop_column("users", "is_app")
