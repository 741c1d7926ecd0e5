"""The sample city's own forces: volunteers in teams, buildings with heads, a year of
service hours, stars, points and one past operation with its closing report."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from api.settings import Settings
from grids.city.locator import GridLocator
from grids.community.models import (
    Building,
    DutyCheckIn,
    Operation,
    PointsAccount,
    Rating,
    ServiceActivity,
    Volunteer,
)
from grids.db import utcnow
from grids.patrols.models import CheckIn, TeamMember
from grids.samples.community import OPERATION_CODE, load_sample_community
from tests.conftest import Store


def test_the_sample_city_has_its_community_forces(city_store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = Settings(database_url=city_store.url, data_dir=tmp_path, secret_key="s")
    with city_store.sessions() as session:
        locator = GridLocator.from_store(session, cache_path=None, timezone="Asia/Shanghai")
    now = utcnow()
    with city_store.transaction() as session:
        counts = load_sample_community(session, locator, config.community_config(), now=now)
    with city_store.sessions() as session:
        members = session.scalar(select(func.count()).select_from(TeamMember))
        in_teams = session.scalar(select(func.count()).where(Volunteer.team_id.is_not(None)))
        assert members and in_teams == members, "patrol team members are volunteers"
        assert (
            session.scalar(
                select(func.count()).select_from(Building).where(Building.head_id.is_not(None))
            )
            == counts.buildings
            > 0
        )
        first = session.scalar(select(func.min(ServiceActivity.started_at)))
        assert first is not None and now - first > dt.timedelta(days=300), "a year of hours"
        assert session.scalar(select(func.count()).select_from(Rating)) > 0
        assert session.scalar(select(func.max(PointsAccount.balance))) > 0
        operation = session.scalar(select(Operation).where(Operation.code == OPERATION_CODE))
        assert operation is not None and operation.status == "closed" and operation.report
        checkins = session.scalar(select(func.count()).select_from(DutyCheckIn))
        assert operation.report["person_times"] == operation.report["checkins"] == checkins > 0
        overdue = session.scalar(
            select(func.count()).select_from(Building).where(Building.next_due < now.date())
        )
        assert 0 < overdue < counts.buildings
        assert (
            operation.report["volunteers"] >= 20 and "0 of" not in operation.report["fully_staffed"]
        )
        assert session.scalar(select(func.count()).select_from(CheckIn)) > 100, "patrols"
        named = session.scalars(select(TeamMember.name)).all()
        assert all(n.startswith("志愿者-") for n in named), "members go by their pseudonym"
