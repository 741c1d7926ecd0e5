"""The sample city's own forces, written through the domain's rules: the patrol teams'
members as volunteers, building heads and their buildings (some overdue for inspection),
a year of recorded service with evaluations, stars and points, a small points mall, and
one past major-event operation in the demo town, closed with its report.

Synthetic, seeded and small: a few hundred volunteers and buildings for the whole city,
so ``samples build`` stays quick.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from grids.city.locator import GridLocator
from grids.city.models import Unit
from grids.community.buildings import record_inspection, save_building
from grids.community.config import CommunityConfig
from grids.community.mall import save_item
from grids.community.models import Evaluation, ServiceActivity, Volunteer
from grids.community.operations import (
    DutyCheckInIn,
    PointIn,
    ShiftIn,
    assign,
    close_operation,
    create_operation,
    record_duty_checkins,
)
from grids.community.points import credit_month
from grids.community.ratings import rate_month
from grids.community.volunteers import VolunteerIn, save_volunteer
from grids.patrols.models import PatrolPoint, Team, TeamMember
from grids.patrols.service import CheckInIn, record_checkins
from grids.samples.generate import DEMO_LAT, DEMO_LON
from grids.samples.people import synthetic_names, synthetic_phones

BUILDINGS_PER_TOWN = 6
DEMO_TOWN_VOLUNTEERS = 24
OPERATION_CODE = "OP-SAMPLE-LANTERN"
MALL = (
    ("UMBRELLA", "雨伞", 20, 200),
    ("CUP", "保温杯", 60, 80),
    ("RICE", "大米 5 kg", 120, 40),
    ("COOKER", "电饭煲", 400, 10),
)
SKILLS = ("急救", "消防", "普通话", "粤语", "驾驶", "摄影")


@dataclass(frozen=True)
class CommunityCounts:
    volunteers: int
    buildings: int
    activities: int
    operation_checkins: int


def _month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def has_community(session: Session) -> bool:
    """Whether the store already holds the sample community (``samples build --force``
    replaces the history of cases, never the volunteers and their ledgers)."""
    return session.scalar(select(Volunteer.id).limit(1)) is not None


def load_sample_community(
    session: Session,
    locator: GridLocator,
    config: CommunityConfig,
    *,
    now: dt.datetime,
    seed: int = 14,
) -> CommunityCounts:
    """Volunteers, buildings, a year of service and one past operation (one transaction)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(config.timezone)
    directory = locator.directory
    index, _match, _distance = locator.cellmap.locate_one(DEMO_LAT, DEMO_LON)
    demo_grid = int(locator.unit_ids[index]) if index >= 0 else None
    demo_town = directory.ancestor(demo_grid, "town") if demo_grid is not None else None
    communities: dict[int, list[Unit]] = {}
    for unit in session.scalars(select(Unit).where(Unit.level == "community").order_by(Unit.code)):
        town = directory.ancestor(unit.id, "town")
        if town is not None:
            communities.setdefault(town.id, []).append(unit)
    volunteers: list[Volunteer] = []
    teams = session.scalars(select(Team).order_by(Team.code)).all()
    members = session.scalars(select(TeamMember).order_by(TeamMember.code)).all()
    names = synthetic_names(
        rng, len(members) + BUILDINGS_PER_TOWN * len(teams) + DEMO_TOWN_VOLUNTEERS
    )
    phones = synthetic_phones(rng, len(names))
    for n, member in enumerate(members):
        team = next(t for t in teams if t.id == member.team_id)
        pool = communities.get(team.town_id or -1)
        if not pool:
            continue
        kind = "yijing" if team.code.endswith("T1") else "pingan"
        skills = tuple(rng.choice(SKILLS, size=int(rng.integers(0, 3)), replace=False))
        item = VolunteerIn(
            member.code, kind, names[n], pool[n % len(pool)].code, phones[n], team.code, skills
        )
        volunteers.append(save_volunteer(session, config, item))
    buildings = _buildings(
        session, locator, config, communities, names, phones, len(members), rng, now
    )
    if demo_town is not None:  # enough hands for the past operation, not in a team
        pool = communities.get(demo_town.id, [])
        for k in range(DEMO_TOWN_VOLUNTEERS if pool else 0):
            n = len(names) - DEMO_TOWN_VOLUNTEERS + k
            item = VolunteerIn(
                f"{demo_town.code}-PA{k + 1:02d}",
                "pingan",
                names[n],
                pool[k % len(pool)].code,
                phones[n],
            )
            volunteers.append(save_volunteer(session, config, item))
        _recent_patrols(session, [t for t in teams if t.town_id == demo_town.id], rng, now)
    activities = _year_of_service(session, config, volunteers, rng, now)
    for code, name, cost, stock in MALL:
        save_item(session, code=code, name=name, cost=cost, stock=stock)
    checkins = (
        _past_operation(session, demo_town.code, volunteers, rng, now, tz) if demo_town else 0
    )
    last_month = (now.astimezone(tz).date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    month = _month_key(last_month)  # last month's hours earn their points and stars
    credit_month(session, month, config.timezone, at=now, volunteers=volunteers)
    rate_month(session, config, month)
    return CommunityCounts(len(volunteers) + buildings, buildings, activities, checkins)


def _buildings(
    session: Session,
    locator: GridLocator,
    config: CommunityConfig,
    communities: dict[int, list[Unit]],
    names: list[str],
    phones: list[str],
    offset: int,
    rng: np.random.Generator,
    now: dt.datetime,
) -> int:
    """A few rental buildings per town, each with its head; a third overdue for inspection."""
    today = now.astimezone(ZoneInfo(config.timezone)).date()
    grids = [
        u for u in session.scalars(select(Unit).where(Unit.level == "grid").order_by(Unit.code))
    ]
    by_town: dict[int, list[Unit]] = {}
    for grid in grids:
        town = locator.directory.ancestor(grid.id, "town")
        if town is not None:
            by_town.setdefault(town.id, []).append(grid)
    count = 0
    for town_id, town_grids in sorted(by_town.items()):
        pool = communities.get(town_id)
        if not pool:
            continue
        for k in range(BUILDINGS_PER_TOWN):
            grid = town_grids[int(rng.integers(len(town_grids)))]
            spot = grid.geom.representative_point() if grid.geom is not None else None
            if spot is None or offset + count >= len(names):
                continue
            head_code = f"LDZ-{grid.code}-{k}"
            parent = next((c for c in pool if c.id == grid.parent_id), pool[0])
            save_volunteer(
                session,
                config,
                VolunteerIn(
                    head_code,
                    "loudongzhang",
                    names[offset + count],
                    parent.code,
                    phones[offset + count],
                ),
            )
            building = save_building(
                session,
                locator,
                code=f"BLD-{grid.code}-{k}",
                name=f"{parent.name}出租屋{k + 1}栋",
                address=f"{parent.name}{int(rng.integers(1, 200))}号",
                units_count=int(rng.integers(6, 60)),
                lat=float(spot.y),
                lon=float(spot.x),
                head=head_code,
                today=today,
            )
            days_ago = int(rng.integers(10, 150))  # inspected every 90 days: some overdue
            record_inspection(
                session,
                building,
                on=today - dt.timedelta(days=days_ago),
                findings=str(rng.choice(["无异常", "消防通道堆物，已督促清理", "新增租户未登记"])),
                photos=[],
                user=None,
                today=today,
            )
            count += 1
    return count


def _recent_patrols(
    session: Session, teams: list[Team], rng: np.random.Generator, now: dt.datetime
) -> None:
    """Four weeks of evening patrols of the demo town's teams, as the members' phones
    record them: a check-in every ten minutes, at the patrol points they pass."""
    points = session.scalars(select(PatrolPoint).order_by(PatrolPoint.code)).all()
    for team in teams:
        nearby = [p for p in points if p.town_id == team.town_id] or list(points)
        members = session.scalars(select(TeamMember).where(TeamMember.team_id == team.id)).all()
        batch = []
        for day in range(1, 29):
            if rng.random() > 0.4:
                continue
            start = (now - dt.timedelta(days=day)).replace(hour=11, minute=0, second=0)
            for member in members:
                if rng.random() < 0.3:
                    continue
                for k in range(int(rng.integers(6, 13))):
                    point = nearby[int(rng.integers(len(nearby)))]
                    at = start + dt.timedelta(minutes=10 * k + int(rng.integers(0, 3)))
                    batch.append(CheckInIn(member.code, at, point.lat, point.lon))
        if batch:
            record_checkins(session, team, batch, now=now)


def _year_of_service(
    session: Session,
    config: CommunityConfig,
    volunteers: list[Volunteer],
    rng: np.random.Generator,
    now: dt.datetime,
) -> int:
    """Patrols and campaigns recorded over the past year, and evaluations by team leaders."""
    rows: list[dict[str, object]] = []
    evaluations: list[dict[str, object]] = []
    for volunteer in volunteers:
        keen = float(rng.uniform(0.3, 1.6))
        for week in range(52):
            if rng.random() < 0.45 * keen:
                at = now - dt.timedelta(weeks=week, hours=int(rng.integers(1, 72)))
                rows.append(
                    {
                        "volunteer_id": volunteer.id,
                        "started_at": at,
                        "hours": float(rng.choice([1.5, 2.0, 3.0, 4.0])),
                        "note": str(rng.choice(["夜间巡逻", "反诈宣传", "交通劝导", "治安志愿"])),
                    }
                )
        for month in range(0, 12, 3):
            evaluations.append(
                {
                    "volunteer_id": volunteer.id,
                    "score": int(np.clip(round(rng.normal(3.6 + keen, 0.7)), 1, 5)),
                    "note": "季度评价",
                    "at": now - dt.timedelta(days=30 * month + 3),
                }
            )
    session.execute(insert(ServiceActivity), rows)  # one statement: a year in a blink
    session.execute(insert(Evaluation), evaluations)
    return len(rows)


def _past_operation(
    session: Session,
    town_code: str,
    volunteers: list[Volunteer],
    rng: np.random.Generator,
    now: dt.datetime,
    tz: ZoneInfo,
) -> int:
    """A lantern-festival security operation a month ago: 12 points, 3 shifts, closed."""
    town = session.scalar(select(Unit).where(Unit.code == town_code))
    if town is None or town.geom is None:
        return 0
    crew = [v for v in volunteers if v.unit_id in {u.id for u in _under(session, town)}]
    if len(crew) < 6:
        return 0
    day = (now.astimezone(tz) - dt.timedelta(days=30)).date()
    start = dt.datetime.combine(day, dt.time(16), tz)
    shifts = [
        ShiftIn(
            f"S{k + 1}", start + dt.timedelta(hours=2 * k), start + dt.timedelta(hours=2 * k + 2)
        )
        for k in range(3)
    ]
    centre = town.geom.representative_point()
    points = [
        PointIn(
            f"P{n + 1:02d}",
            f"卡点{n + 1}",
            centre.y + 0.004 * (n // 4),
            centre.x + 0.004 * (n % 4),
            2,
        )
        for n in range(12)
    ]
    operation = create_operation(
        session,
        code=OPERATION_CODE,
        name="元宵灯会安保",
        town=town_code,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=6),
        points=points,
        shifts=shifts,
    )
    checkins = []
    for shift in shifts:
        order = rng.permutation(len(crew))
        for n, index in enumerate(order[: min(len(crew), 2 * len(points))]):
            point = points[n % len(points)]
            if rng.random() < 0.15:  # some never turned up
                continue
            volunteer = crew[int(index)]
            assign(
                session,
                operation,
                volunteer,
                point=point.code,
                shift=shift.code,
                how="signup" if n % 3 else "assigned",
                now=start,
            )
            at = shift.starts_at + dt.timedelta(minutes=int(rng.integers(0, 20)))
            checkins.append(DutyCheckInIn(volunteer, at, point.lat, point.lon, point.code))
    stored, _ = record_duty_checkins(session, operation, checkins, now=now)
    close_operation(session, operation, now=start + dt.timedelta(hours=6, minutes=30))
    return stored


def _under(session: Session, town: Unit) -> list[Unit]:
    return [town, *session.scalars(select(Unit).where(Unit.parent_id == town.id))]
