"""Alembic environment: the engine comes from ``grids.db.upgrade_schema``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import grids.accounts.models
import grids.cases.models
import grids.community.models
import grids.events
import grids.patrols.models  # noqa: F401 - and the patrol and community tables
from grids.city.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
