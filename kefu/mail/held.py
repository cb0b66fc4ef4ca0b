"""What agents do with inbound mail: read the original, and decide about a held reply.

A reply from an address that is not the conversation's customer is held (kefu.mail.ingest). An agent
who can see the conversation either adds its text as an internal note, or opens a separate
conversation for its sender; both are audited.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.conversations.access import access_conversation_by_id
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.errors import Conflict, NotFound, PermissionDenied
from kefu.inboxes.models import ChannelKind
from kefu.mail.inbound.parse import parse_email
from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.models import InboundEmail, InboundStatus
from kefu.mail.new_threads import body_of, email_facts, open_for_sender
from kefu.mail.redaction import after_ingest, redact_subject
from kefu.settings import Settings
from kefu.storage.base import BlobStore


class ReleaseAs(StrEnum):
    NOTE = "note"
    NEW_CONVERSATION = "new_conversation"


async def access_inbound(
    session: AsyncSession, actor: AgentActor, inbound_id: uuid.UUID, *, for_update: bool = False
) -> InboundEmail:
    """An inbound email the agent may see: that of a conversation they may see; mail that joined no
    conversation (bounces, auto-replies) only for supervisors and admins. NotFound otherwise."""
    row = await session.get(InboundEmail, inbound_id, with_for_update=for_update)
    if row is None:
        raise NotFound("no such email")
    if row.conversation_id is None:
        if not actor.is_supervisor_or_admin:
            raise NotFound("no such email")
        return row
    await access_conversation_by_id(session, actor, row.conversation_id)
    return row


async def read_original(blobs: BlobStore, row: InboundEmail) -> bytes:
    """The message's bytes as they arrived."""
    return decompress_raw(await blobs.get(row.raw_key))


async def do_release_held(
    session: AsyncSession,
    actor: AgentActor,
    inbound_id: uuid.UUID,
    release_as: ReleaseAs,
    *,
    blobs: BlobStore,
    settings: Settings,
    ip: str | None = None,
) -> Conversation:
    """Decide about a held email; returns the conversation it went to."""
    row = await access_inbound(session, actor, inbound_id, for_update=True)
    if row.status != InboundStatus.HELD or row.conversation_id is None:
        raise Conflict("this email is not waiting for a decision")
    conversation = await access_conversation_by_id(session, actor, row.conversation_id, for_update=True)
    raw = await read_original(blobs, row)
    parsed, subject_kinds = redact_subject(parse_email(raw))
    verdict = dict(row.details.get("verdict") or {})
    facts = email_facts(row, parsed, verdict)
    body = body_of(parsed)
    if release_as == ReleaseAs.NOTE:
        message = await append_message(
            session,
            conversation,
            actor,
            NewMessage(body=body, kind=MessageKind.NOTE, data={"email": facts}),
            author=AuthorKind.AGENT,
            channel=ChannelKind.EMAIL,
        )
        target = conversation
    else:
        if parsed.from_address is None:
            raise PermissionDenied("the email has no sender to open a conversation for")
        target, message = await open_for_sender(
            session,
            parsed,
            phishing=bool(verdict.get("phishing")),
            facts=facts,
            blobs=blobs,
            settings=settings,
        )
    row.status, row.reason = InboundStatus.INGESTED, f"released_as_{release_as.value}"
    row.conversation_id, row.message_id = target.id, message.id
    sender = parsed.from_address if release_as != ReleaseAs.NOTE else None
    await after_ingest(session, row, target, message, subject_kinds, sender=sender, settings=settings)
    await record_audit(
        session,
        action="email.held_released",
        actor=actor,
        target_type="inbound_email",
        target_id=str(row.id),
        ip=ip,
        details={"as": release_as.value, "conversation": target.reference},
    )
    return target
