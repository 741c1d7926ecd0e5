"""The offices' ledgers over HTTP: attendance (考勤台账) and service hours per team and
month, as CSV or XLSX with the same rows."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api.auth import CurrentScope, CurrentUser
from api.community import CommunityDep, seen_team
from api.deps import LocatorDep, SessionDep
from grids.cases.intake import require_role
from grids.community.ledgers import ledger, to_csv, to_xlsx
from grids.community.volunteers import identity_visible
from grids.errors import InvalidInput

router = APIRouter(prefix="/ledgers", tags=["volunteers"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/{kind}")
def team_ledger(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    locator: LocatorDep,
    community: CommunityDep,
    kind: str,
    team: str,
    month: str,
    format: str = "xlsx",
) -> Response:
    """``attendance`` or ``hours`` of a team for a month (``YYYY-MM``), ``format`` xlsx or
    csv; names are real for the unit's managers, pseudonyms for everyone else."""
    require_role(user, "dispatcher", "patrol_leader", "planner", "admin")
    if format not in ("xlsx", "csv"):
        raise InvalidInput(f"format must be xlsx or csv, got {format!r}")
    row = seen_team(session, scope, team)
    identity = row.town_id is not None and identity_visible(
        user, scope, locator.directory, row.town_id
    )
    book = ledger(
        session, kind, row, month, community.timezone, identity=identity, kinds=community.kinds
    )
    name = f"{kind}-{row.code}-{month}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return Response(to_csv(book), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(book), media_type=XLSX, headers=headers)
