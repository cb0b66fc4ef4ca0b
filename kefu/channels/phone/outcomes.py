"""The agents' call-back queue and the outcomes they log. Every read goes through the conversation gate."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.channels.phone.models import OPEN_STATUSES, CallbackRequest, CallbackStatus
from kefu.conversations.access import access_conversation_by_id, visible_conversations
from kefu.conversations.actions import do_add_message
from kefu.conversations.models import Conversation
from kefu.conversations.states import MessageKind
from kefu.conversations.timeline import NewMessage
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.inboxes.models import ChannelKind

LIST_LIMIT: Final = 200
OUTCOMES: Final = frozenset({CallbackStatus.DONE, CallbackStatus.NO_ANSWER, CallbackStatus.CANCELLED})


async def list_callbacks(
    session: AsyncSession, actor: AgentActor, status: CallbackStatus | None = None
) -> list[CallbackRequest]:
    """Call backs on conversations `actor` may see, soonest window first (open ones when no status)."""
    query = (
        select(CallbackRequest)
        .join(Conversation, Conversation.id == CallbackRequest.conversation_id)
        .where(visible_conversations(actor))
    )
    if status is None:
        query = query.where(CallbackRequest.status.in_(sorted(OPEN_STATUSES)))
    else:
        query = query.where(CallbackRequest.status == status)
    query = query.order_by(CallbackRequest.window_start, CallbackRequest.id).limit(LIST_LIMIT)
    return list(await session.scalars(query))


async def access_callback(
    session: AsyncSession, actor: AgentActor, callback_id: uuid.UUID
) -> tuple[CallbackRequest, Conversation]:
    """The call back and its conversation if `actor` may see it; NotFound for missing and forbidden."""
    callback = await session.get(CallbackRequest, callback_id, with_for_update=True)
    if callback is None:
        raise NotFound("call back not found")
    try:
        conversation = await access_conversation_by_id(session, actor, callback.conversation_id)
    except NotFound:
        raise NotFound("call back not found") from None
    return callback, conversation


async def do_log_outcome(
    session: AsyncSession,
    actor: AgentActor,
    callback: CallbackRequest,
    conversation: Conversation,
    outcome: CallbackStatus,
    note: str,
) -> CallbackRequest:
    """Record a call attempt's outcome and an internal note on the conversation.

    `no_answer` leaves the call back open for another attempt; `done` and `cancelled` are final.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput("an outcome is done, no_answer or cancelled", fields={"outcome": "unknown"})
    if callback.status not in OPEN_STATUSES:
        raise Conflict(f"this call back is already {callback.status}")
    callback.status = outcome
    callback.attempts += 1
    callback.outcome_note = note
    callback.agent_id = actor.agent_id
    callback.outcome_at = utcnow()
    body = f"Call back to {callback.number}: {outcome.value}" + (f"\n\n{note}" if note else "")
    await do_add_message(
        session,
        actor,
        conversation,
        NewMessage(
            body=body,
            kind=MessageKind.NOTE,
            data={"callback_outcome": {"id": str(callback.id), "outcome": outcome.value}},
        ),
        channel=ChannelKind.PHONE,
    )
    return callback
