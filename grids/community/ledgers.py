"""Ledgers for the offices (工作台账): the attendance ledger (考勤台账) and the
service-hours ledger of a team for a month, as CSV and XLSX with the same rows: the
title with the unit's name, the period, the column names, one row per member (and day).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grids.city.models import Unit
from grids.community.hours import service_hours
from grids.community.models import Rating, Volunteer
from grids.community.points import month_bounds
from grids.errors import InvalidInput
from grids.patrols.models import Team
from grids.patrols.service import attendance

KINDS = ("attendance", "hours")
Cell = str | int | float


@dataclass(frozen=True)
class Ledger:
    title: str
    unit: str
    period: str
    columns: tuple[str, ...]
    rows: list[list[Cell]]

    def lines(self) -> list[list[Cell]]:
        """Every line as printed: the title, unit and period, the columns, the rows."""
        return [
            [self.title],
            ["单位 unit", self.unit, "期间 period", self.period],
            list(self.columns),
            *self.rows,
        ]


def _unit_name(session: Session, team: Team) -> str:
    unit = session.get(Unit, team.town_id) if team.town_id else None
    return unit.name if unit else ""


def _names(session: Session, team: Team, identity: bool) -> dict[str, str]:
    """Member code → the name shown: the real name for those who may see it, else the
    pseudonym (a member who is no volunteer keeps the team's name for them)."""
    return {
        v.code: v.real_name if identity else v.pseudonym
        for v in session.scalars(select(Volunteer).where(Volunteer.team_id == team.id))
    }


def attendance_ledger(
    session: Session, team: Team, month: str, timezone: str, *, identity: bool
) -> Ledger:
    """考勤台账: per day and member the check-ins, first and last, hours, points visited."""
    start, end = month_bounds(month, timezone)
    names = _names(session, team, identity)
    rows: list[list[Cell]] = []
    day = start.date()
    while day < end.date():
        sheet = attendance(session, team, day, timezone)
        for member in sheet["members"]:
            shifts = member["shifts"]
            rows.append(
                [
                    day.isoformat(),
                    member["member"],
                    names.get(member["member"], member["name"]),
                    member["checkins"],
                    shifts[0]["start"][11:16] if shifts else "",
                    shifts[-1]["end"][11:16] if shifts else "",
                    member["hours"],
                    member["points_visited"],
                ]
            )
        day += dt.timedelta(days=1)
    return Ledger(
        f"{_unit_name(session, team)} {team.name} 考勤台账 {month}",
        _unit_name(session, team),
        month,
        (
            "日期 date",
            "编号 code",
            "姓名 name",
            "签到 check-ins",
            "开始 from",
            "结束 to",
            "时长 hours",
            "点位 points",
        ),
        rows,
    )


def hours_ledger(
    session: Session,
    team: Team,
    month: str,
    timezone: str,
    *,
    identity: bool,
    kinds: dict[str, str] | None = None,
) -> Ledger:
    """服务时长台账: per volunteer the hours of patrol, duty and activities, and the stars."""
    start, end = month_bounds(month, timezone)
    stars = {
        volunteer_id: count
        for volunteer_id, count in session.execute(
            select(Rating.volunteer_id, Rating.stars).where(Rating.month == month)
        )
    }
    rows: list[list[Cell]] = []
    volunteers = session.scalars(
        select(Volunteer).where(Volunteer.team_id == team.id).order_by(Volunteer.code)
    )
    for volunteer in volunteers:
        hours = service_hours(session, volunteer, start, end).to_dict()
        rows.append(
            [
                volunteer.code,
                volunteer.real_name if identity else volunteer.pseudonym,
                (kinds or {}).get(volunteer.kind, volunteer.kind),
                hours["patrol"],
                hours["duty"],
                hours["activity"],
                hours["total"],
                "★" * stars[volunteer.id] if volunteer.id in stars else "",
            ]
        )
    return Ledger(
        f"{_unit_name(session, team)} {team.name} 服务时长台账 {month}",
        _unit_name(session, team),
        month,
        (
            "编号 code",
            "姓名 name",
            "类别 kind",
            "巡逻 patrol h",
            "安保 duty h",
            "活动 activity h",
            "合计 total h",
            "星级 stars",
        ),
        rows,
    )


def ledger(
    session: Session,
    kind: str,
    team: Team,
    month: str,
    timezone: str,
    *,
    identity: bool,
    kinds: dict[str, str] | None = None,
) -> Ledger:
    """The ``attendance`` or ``hours`` ledger; ``kinds`` labels the volunteers' kinds."""
    if kind == "attendance":
        return attendance_ledger(session, team, month, timezone, identity=identity)
    if kind == "hours":
        return hours_ledger(session, team, month, timezone, identity=identity, kinds=kinds)
    raise InvalidInput(f"ledger must be one of {list(KINDS)}, got {kind!r}")


def to_csv(book: Ledger) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in book.lines():
        writer.writerow(line)
    return "\ufeff" + out.getvalue()  # a BOM, so spreadsheet programs read the Chinese


def to_xlsx(book: Ledger) -> bytes:
    """The ledger as a workbook ready to print: the title bold over the columns, the
    column names repeated on every page, landscape and one page wide."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet: Any = workbook.active
    sheet.title = book.period
    for line in book.lines():
        sheet.append(line)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(book.columns))
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for n, name in enumerate(book.columns, start=1):
        width = max([len(str(name)), *(len(str(r[n - 1])) for r in book.rows)]) + 2
        sheet.column_dimensions[sheet.cell(row=3, column=n).column_letter].width = min(width, 40)
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.freeze_panes = "A4"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
