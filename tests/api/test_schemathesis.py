"""Schemathesis over every operation of ``/openapi.json``, with a token of each role and
without one (issue 10): no server error, every status documented, every response of its
documented media type and schema.

A few examples per operation in ``make test``; ``make fuzz`` (``GRIDWATCH_FUZZ_EXAMPLES``,
default 100 there) runs the deep one.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from api import events
from api.app import create_app
from api.settings import Settings
from grids.accounts.users import create_user
from grids.city.models import Unit
from tests.api.conftest import CaseEnv

pytestmark = pytest.mark.xdist_group("schemathesis")
EXAMPLES = int(os.environ.get("GRIDWATCH_FUZZ_EXAMPLES", "5"))
REFUSED = (None, "citizen")  # no token, and a reporter: answered before any work is done
STAFF = ("officer", "dispatcher", "planner", "admin", "leader")
"""Each example runs without a token, as a reporter and as one of the staff roles in turn
(five examples per operation reach every role)."""
MAX_RES = 9
"""The analyses run at most at this H3 resolution here: their cost grows with it, and
tests/api/test_hotspots_api.py covers the resolutions; the schema's bounds are tested."""
_turns: dict[str, Iterator[str]] = {}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _document() -> dict[str, Any]:
    """The app's OpenAPI document (built without a store: only the routes matter)."""
    with tempfile.TemporaryDirectory() as data_dir:
        return create_app(Settings(data_dir=Path(data_dir), secret_key="doc")).openapi()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def fuzz_app(case_env: CaseEnv) -> Iterator[Any]:
    """A second app on the sample city (Schemathesis runs its lifespan), with a patrol
    leader added to the users of every role and one case in the store."""
    with case_env.store.transaction() as session:
        town = session.scalar(select(Unit.code).where(Unit.level == "town").order_by(Unit.code))
        case_env.tokens["leader"] = create_user(
            session, "fuzz-leader", "patrol_leader", scope_code=town
        )[1]
    case_env.report()
    patch = pytest.MonkeyPatch()
    patch.setattr(events, "STREAM_FOR_S", 0.2)  # event streams end at once
    patch.setattr(events, "HEARTBEAT_S", 0.1)
    yield create_app(case_env.settings)
    patch.undo()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_with_every_role(case: Any, case_env: CaseEnv, fuzz_app: Any) -> None:
    case.operation.schema.app = fuzz_app
    if case.path == "/api/v1/patrols/plans" and isinstance(case.body, dict):
        case.body["time_limit_s"] = 0.5  # the solver's time, not what is tested here
        if isinstance(case.body.get("res"), int):
            case.body["res"] = min(case.body["res"], MAX_RES)
    if isinstance(case.query, dict) and isinstance(case.query.get("res"), int):
        case.query["res"] = min(case.query["res"], MAX_RES)
    staff = _turns.setdefault(f"{case.method} {case.path}", itertools.cycle(STAFF))
    for who in (*REFUSED, next(staff)):
        headers = {"Authorization": f"Bearer {case_env.tokens[who]}"} if who else {}
        case.call_and_validate(headers=headers, checks=CHECKS, app=fuzz_app)
