"""Merging a duplicate conversation into the one that carries on.

The duplicate is closed and points at the survivor; the survivor gets an internal note with what the
customer wrote in the duplicate (and its files, which are content-addressed, so nothing is copied).
Only conversations of the same customer merge: a merge must never show one customer's words or
files to another.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.conversations import actions
from kefu.conversations.models import Attachment, Conversation, ConversationTag, Message
from kefu.conversations.pipeline import ConversationChange, run_pipeline
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput
from kefu.core.ids import new_id
from kefu.inboxes.models import ChannelKind

# The note quotes at most this many customer messages; the duplicate itself stays readable.
MAX_QUOTED = 20
MAX_NOTE_CHARS = 18_000


def check_merge(source: Conversation, target: Conversation) -> None:
    """InvalidInput/Conflict unless `source` may be merged into `target`."""
    if source.id == target.id:
        raise InvalidInput("a conversation cannot merge into itself", fields={"into": "same conversation"})
    if source.contact_id != target.contact_id:
        raise InvalidInput(
            "only conversations of the same customer can be merged", fields={"into": "another customer"}
        )
    if source.status == Status.CLOSED:
        raise Conflict(f"{source.reference} is closed and cannot be merged")
    if target.status == Status.CLOSED:
        raise Conflict(f"{target.reference} is closed; merge into an open conversation")


async def _customer_messages(session: AsyncSession, source: Conversation) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(
            Message.conversation_id == source.id,
            Message.author_kind == AuthorKind.CUSTOMER,
            Message.kind == MessageKind.REPLY,
        )
        .order_by(Message.seq)
        .limit(MAX_QUOTED)
    )
    return list(rows)


def _note(source: Conversation, quoted: list[Message]) -> str:
    lines = [f"Merged from {source.reference}: {source.subject}".rstrip(": ")]
    for message in quoted:
        lines.append(f"\n[{message.created_at:%Y-%m-%d %H:%M} UTC] {message.body}")
    text = "\n".join(lines)
    return text if len(text) <= MAX_NOTE_CHARS else text[: MAX_NOTE_CHARS - 1] + "…"


async def do_merge_conversations(
    session: AsyncSession, actor: AgentActor, source: Conversation, target: Conversation
) -> Conversation:
    """Close `source` into `target` (both already gated for `actor`); returns `target`."""
    check_merge(source, target)
    channel = ChannelKind(target.channel)
    quoted = await _customer_messages(session, source)
    note = await append_message(
        session,
        target,
        actor,
        NewMessage(body=_note(source, quoted), kind=MessageKind.NOTE, data={"merged_from": source.reference}),
        author=AuthorKind.AGENT,
        channel=channel,
    )
    for message in quoted:
        for file in message.attachments:
            session.add(
                Attachment(
                    id=new_id(),
                    conversation_id=target.id,
                    message_id=note.id,
                    blob_key=file.blob_key,
                    filename=file.filename,
                    content_type=file.content_type,
                    size=file.size,
                    width=file.width,
                    height=file.height,
                    sensitive=file.sensitive,
                )
            )
    missing_tags = sorted(set(source.tags) - set(target.tags))
    if missing_tags:
        target.tag_rows = [*target.tag_rows, *(ConversationTag(tag=tag) for tag in missing_tags)]

    previous_status = Status(source.status)
    source.merged_into_id = target.id
    # A merge ends the duplicate from any open state: the survivor carries the work on.
    source.status = Status.CLOSED
    source.closed_at = utcnow()
    await append_message(
        session,
        source,
        actor,
        NewMessage(
            body="",
            kind=MessageKind.EVENT,
            data={"field": "merged_into", "from": None, "to": target.reference},
        ),
        author=AuthorKind.AGENT,
        channel=ChannelKind(source.channel),
    )
    await session.flush()
    await run_pipeline(
        session,
        ConversationChange(
            source, actor, changed=frozenset({"status"}), previous={"status": previous_status}
        ),
    )
    actions.notify_conversation_updated(session, source)
    actions.notify_conversation_updated(session, target)
    return target
