"""Attachments: recording stored files on a message and the gate in front of every download."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor, AgentActor
from kefu.auth.roles import Role
from kefu.conversations.access import access_conversation_by_id, can_see_internal
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.core.errors import NotFound
from kefu.core.ids import new_id
from kefu.db.uow import independent_transaction
from kefu.storage.uploads import StoredFile

MAX_FILES_PER_MESSAGE = 10


async def do_attach_files(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    files: list[StoredFile],
    *,
    sensitive: bool,
    ids: Sequence[uuid.UUID] | None = None,
) -> list[Attachment]:
    """Record already-stored blobs as attachments of `message` (same transaction as the message).

    `ids` gives the rows' ids when they had to be known before the files were stored (a sealed
    identity document's envelope names its attachment); one per file, in order.
    """
    if ids is not None and len(ids) != len(files):
        raise ValueError("give one id per file")
    rows = [
        Attachment(
            id=ids[index] if ids is not None else new_id(),
            conversation_id=conversation.id,
            message_id=message.id,
            blob_key=f.key,
            filename=f.filename,
            content_type=f.content_type,
            size=f.size,
            width=f.width,
            height=f.height,
            sensitive=sensitive,
        )
        for index, f in enumerate(files)
    ]
    session.add_all(rows)
    message.attachments.extend(rows)
    await session.flush()
    return rows


async def access_attachment_by_id(
    session: AsyncSession, actor: Actor, attachment_id: uuid.UUID, *, ip: str | None = None
) -> Attachment:
    """The attachment if `actor` may download it; NotFound otherwise. Sensitive reads are audited."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment not found")
    await access_conversation_by_id(session, actor, attachment.conversation_id)
    if not can_see_internal(actor):
        kind = await session.scalar(select(Message.kind).where(Message.id == attachment.message_id))
        if kind != MessageKind.REPLY:
            raise NotFound("attachment not found")
    if attachment.sensitive:
        if not (isinstance(actor, AgentActor) and actor.role == Role.KYC_REVIEWER):
            # The request rolls back on NotFound, so the denial is recorded in its own transaction.
            async with independent_transaction(session) as own:
                await record_audit(
                    own,
                    action="access.denied",
                    actor=actor,
                    target_type="attachment",
                    target_id=str(attachment.id),
                    ip=ip,
                )
            raise NotFound("attachment not found")
        await record_audit(
            session,
            action="attachment.sensitive_read",
            actor=actor,
            target_type="attachment",
            target_id=str(attachment.id),
            ip=ip,
        )
    return attachment
