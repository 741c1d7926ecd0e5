"""Migration 0006_case_rules: no phone number keeps matching a reporter's identity, apps act
for their users, and contact data moves onto the cases — on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib

import shapely
import sqlalchemy as sa
from alembic import command

from grids.accounts.models import Reporter, User
from grids.accounts.reporters import own_reports, reporter_for
from grids.cases.models import Case
from grids.db import GeometryType, alembic_config, upgrade_schema
from tests.conftest import Store

PHONE = "13811112222"


def hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_phone_identities_are_retired_and_apps_keep_their_users(store: Store) -> None:
    command.downgrade(alembic_config(store.engine), "0005_case_messages")
    with store.engine.begin() as conn:
        ids = seed_0003(conn)
    upgrade_schema(store.engine)
    with store.sessions() as session:
        alice = session.get(User, ids["alice"])
        app = session.get(User, ids["app"])
        assert alice is not None and app is not None
        assert app.is_app and not alice.is_app
        phone_row = session.get(Reporter, ids["phone_reporter"])
        app_row = session.get(Reporter, ids["app_reporter"])
        assert phone_row is not None and app_row is not None
        assert phone_row.identity_key != hashed(f"phone:{PHONE}")
        assert phone_row.user_id is None and app_row.user_id is None
        assert app_row.identity_key == hashed(f"ext:{app.id}:wx-1")
        own = own_reports(session, alice, None)
        assert own.owns(ids["alice"], ids["phone_reporter"])  # what she filed herself
        assert not own.owns(ids["app"], ids["phone_reporter"])  # not what carried her phone
        assert own_reports(session, app, "wx-1").reporter_id == ids["app_reporter"]
        stolen = session.get(Case, ids["stolen_case"])
        assert stolen is not None and stolen.contact == {"phone": PHONE}
        named = session.get(Case, ids["app_case"])
        assert named is not None and named.contact == {"id": "wx-1", "name": "张三"}
        newcomer = reporter_for(session, "s", user=alice, app_user_id=None)
        assert newcomer is not None and newcomer.id != ids["phone_reporter"]
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("reporters")}
    assert "phone" not in columns and "name" not in columns


def seed_0003(conn: sa.Connection) -> dict[str, int]:
    """Rows as the code before 0004 wrote them: a phone-keyed reporter owned by whoever used
    the number first, and an app's user owned by the app."""
    now = dt.datetime.now(dt.UTC)

    def insert(table: str, **values: object) -> int:
        typed = {"geom": GeometryType("POINT"), "routing": sa.JSON(), "attributes": sa.JSON()}
        columns = [sa.column(name, typed.get(name)) for name in values]
        rows = sa.table(table, sa.column("id"), *columns)
        return int(conn.execute(rows.insert().values(**values).returning(rows.c.id)).scalar_one())

    department = insert("departments", code="d", name="D")
    category = insert(
        "categories",
        code="c",
        name="C",
        group="g",
        department_id=department,
        ack_minutes=1,
        verify_minutes=2,
        close_minutes=3,
        reward_yuan=5,
        points=3,
        duplicate_radius_m=50,
    )
    alice, app = (
        insert("users", name=name, role="reporter", token_hash=name, active=True, created_at=now)
        for name in ("alice", "app")
    )
    phone_reporter = insert(
        "reporters",
        identity_key=hashed(f"phone:{PHONE}"),
        pseudonym="居民-1",
        phone=PHONE,
        user_id=alice,
    )
    app_reporter = insert(
        "reporters",
        identity_key=hashed(f"ext:{app}:wx-1"),
        pseudonym="居民-2",
        external_id="wx-1",
        name="张三",
        user_id=app,
    )

    def case(reporter_id: int, submitted_by: int) -> int:
        return insert(
            "cases",
            status="routed",
            version=1,
            category_id=category,
            description="",
            source="app",
            lat=23.02,
            lon=113.75,
            geom=shapely.Point(113.75, 23.02),
            h3_cell=1,
            match="inside",
            assignee_kind="city_dispatch",
            escalation_level=0,
            routing={},
            occurred_at=now,
            reported_at=now,
            updated_at=now,
            ack_due=now,
            verify_due=now,
            close_due=now,
            missed="",
            attributes={},
            reporter_id=reporter_id,
            submitted_by_id=submitted_by,
        )

    return {
        "alice": alice,
        "app": app,
        "phone_reporter": phone_reporter,
        "app_reporter": app_reporter,
        "own_case": case(phone_reporter, alice),
        "stolen_case": case(phone_reporter, app),
        "app_case": case(app_reporter, app),
    }
