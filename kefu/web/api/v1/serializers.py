"""ORM rows to API shapes (the only place that decides what a caller sees of a row)."""

from __future__ import annotations

from typing import TypeVar

from kefu.auth.actors import Actor
from kefu.conversations.access import can_see_internal
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import AttachmentOut, ConversationCreated, ConversationOut, MessageOut


def conversation_out(conversation: Conversation, actor: Actor) -> ConversationOut:
    """A conversation as `actor` may see it: customers never see tags, team or assignee (internal)."""
    out = ConversationOut.model_validate(conversation, from_attributes=True)
    return out if can_see_internal(actor) else _without_internals(out)


def conversation_created(
    conversation: Conversation, customer_token: str | None, actor: Actor | None
) -> ConversationCreated:
    """A newly opened conversation, with the follow-up token an anonymous caller needs."""
    created = ConversationCreated.model_validate(conversation, from_attributes=True)
    created.customer_token = customer_token
    return created if actor is not None and can_see_internal(actor) else _without_internals(created)


def conversation_created_json(
    conversation: Conversation, customer_token: str | None, actor: Actor | None
) -> bytes:
    """`conversation_created` as the JSON body (for routes that return it without FastAPI re-validating)."""
    return conversation_created(conversation, customer_token, actor).model_dump_json().encode()


_Out = TypeVar("_Out", bound=ConversationOut)


def _without_internals(out: _Out) -> _Out:
    return out.model_copy(update={"tags": [], "team_id": None, "assignee_id": None})


def message_out(message: Message, actor: Actor) -> MessageOut:
    """A message as `actor` may see it (customers never see which agent wrote, only that staff did)."""
    internal = can_see_internal(actor)
    return MessageOut(
        id=message.id,
        seq=message.seq,
        kind=message.kind,
        author_kind=message.author_kind,
        author_agent_id=message.author_agent_id if internal else None,
        body=message.body,
        data=message.data if internal else {},
        client_id=message.client_id,
        channel=message.channel,
        created_at=message.created_at,
        attachments=[
            AttachmentOut(
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                width=a.width,
                height=a.height,
                url=f"/api/v1/attachments/{a.id}",
            )
            for a in message.attachments
            if internal or not a.sensitive
        ],
    )
