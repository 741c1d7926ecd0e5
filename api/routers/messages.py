"""The conversation on a case over HTTP: read it, write to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.auth import CurrentOwn, CurrentScope, CurrentUser
from api.deps import SessionDep
from api.params import CaseId
from grids.accounts.models import Reporter
from grids.cases.conversation import MAX_CHARS, conversation, message_view, post_message
from grids.cases.queries import visible_case
from grids.db import transaction

router = APIRouter(tags=["cases"])


class MessageIn(BaseModel):
    body: str = Field(max_length=MAX_CHARS, description="The text of the message")


@router.get("/cases/{case_id}/messages")
def read_messages(
    session: SessionDep, user: CurrentUser, scope: CurrentScope, own: CurrentOwn, case_id: CaseId
) -> list[dict[str, Any]]:
    """The messages between the reporter and the handling side, oldest first."""
    item = visible_case(session, case_id, scope, own)
    return conversation(session, item, viewer=user)


@router.post("/cases/{case_id}/messages", status_code=201)
def write_message(
    request: Request,
    user: CurrentUser,
    scope: CurrentScope,
    own: CurrentOwn,
    case_id: CaseId,
    body: MessageIn,
) -> dict[str, Any]:
    """Write to the reporter (officers, dispatchers) or to the handling side (the reporter).

    A message to the reporter is also offered to the webhooks as ``case.message``.
    """
    with transaction(request.app.state.sessions) as session:
        item = visible_case(session, case_id, scope, own)
        message = post_message(session, request.app.state.case_config, item, body.body, user=user)
        reporter = session.get(Reporter, item.reporter_id) if item.reporter_id else None
        return message_view(message, user, reporter.pseudonym if reporter else "", user.name)
