"""The call-back queue: agents list the call backs they may see and log each call's outcome.

Who may call: agents (session or API token with the conversations scopes). A call back is reached
through its conversation's gate, so one on a private team's conversation is 404 to other agents.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from kefu.channels.phone.models import CallbackStatus
from kefu.channels.phone.outcomes import access_callback, do_log_outcome, list_callbacks
from kefu.channels.phone.schemas import CallbackList, CallbackOut, OutcomeIn
from kefu.core.clock import utcnow
from kefu.web.deps import AgentReader, AgentWriter, DbSession

router = APIRouter(prefix="/callbacks", tags=["call backs"])


@router.get("", response_model=CallbackList)
async def get_callbacks(
    actor: AgentReader, session: DbSession, status: Annotated[CallbackStatus | None, Query()] = None
) -> CallbackList:
    """Agents: call backs by window (open ones unless `status` is given), with `overdue` flags."""
    now = utcnow()
    rows = await list_callbacks(session, actor, status)
    return CallbackList(items=[CallbackOut.of(row, now) for row in rows])


@router.post("/{callback_id}/outcome", response_model=CallbackOut)
async def log_outcome(
    callback_id: uuid.UUID, body: OutcomeIn, actor: AgentWriter, session: DbSession
) -> CallbackOut:
    """Agents: log a call's outcome (done, no_answer, cancelled); 409 when the call back is closed."""
    callback, conversation = await access_callback(session, actor, callback_id)
    await do_log_outcome(session, actor, callback, conversation, CallbackStatus(body.outcome), body.note)
    return CallbackOut.of(callback, utcnow())
