"""Agents' replies in email conversations go out by email, threaded into the customer's mail client.

A pipeline processor (in the agent's transaction) queues a `mail.reply` job; the job, which knows the
settings, builds the email: In-Reply-To the customer's latest message, References the thread, the
`KF-` reference in the subject, and remembers its own Message-ID so the customer's answer threads back.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.acknowledge import contact_email, my_requests_url
from kefu.conversations.models import Conversation, Message
from kefu.conversations.pipeline import ConversationChange
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.i18n import DEFAULT_LOCALE, normalise_locale
from kefu.inboxes.models import ChannelKind
from kefu.jobs.enqueue import enqueue
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError
from kefu.mail.models import EmailThreadId, ThreadDirection
from kefu.mail.outbox import message_id_for, queue_email
from kefu.mail.threading import remember_message_ids
from kefu.settings import Settings

MAIL_REPLY: Final = "mail.reply"
# The References header lists the thread; the most recent ids matter, older ones only lengthen it.
MAX_REFERENCES: Final = 10


def _emails_reply(change: ConversationChange) -> bool:
    """Whether `change` is an agent's public reply in an email conversation (which is emailed)."""
    message = change.message
    return (
        message is not None
        and change.conversation.channel == ChannelKind.EMAIL
        and message.kind == MessageKind.REPLY
        and message.author_kind == AuthorKind.AGENT
    )


async def quiet_on_opening(_session: AsyncSession, change: ConversationChange) -> bool:
    """Pipeline QUIET_ON_OPENING check: nothing to email."""
    return not _emails_reply(change)


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Pipeline processor: queue the email for an agent's public reply in an email conversation."""
    message = change.message
    if message is None or not _emails_reply(change):
        return
    await enqueue(session, MAIL_REPLY, {"message_id": str(message.id)}, dedupe_key=f"mail-reply:{message.id}")


async def _thread(session: AsyncSession, conversation_id: uuid.UUID) -> tuple[str | None, list[str]]:
    """(the customer's latest Message-ID, the thread's recent Message-IDs oldest first)."""
    rows = list(
        await session.execute(
            select(EmailThreadId.message_id, EmailThreadId.direction)
            .where(EmailThreadId.conversation_id == conversation_id)
            .order_by(EmailThreadId.created_at.desc())
            .limit(MAX_REFERENCES)
        )
    )
    latest_in = next((m for m, d in rows if d == ThreadDirection.IN), None)
    return latest_in, [m for m, _d in reversed(rows)]


def bind_reply(settings: Settings) -> JobHandler:
    """The `mail.reply` handler for this process's settings."""

    async def send_reply(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            message_id = uuid.UUID(str(payload["message_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed mail.reply payload: {exc}") from exc
        session = ctx.session
        message = await session.get(Message, message_id)
        if message is None:
            return  # deleted since
        conversation = await session.get(Conversation, message.conversation_id)
        if conversation is None:
            return
        to = await contact_email(session, conversation.contact_id)
        if to is None:
            raise PermanentJobError("the customer has no email address")
        in_reply_to, references = await _thread(session, conversation.id)
        locale = normalise_locale(conversation.locale) or DEFAULT_LOCALE
        key = f"reply:{message.id}"
        queued = await queue_email(
            session,
            template="agent_reply",
            to=to,
            locale=locale,
            context={
                "reference": conversation.reference,
                "subject": conversation.subject or conversation.reference,
                "body": message.body.strip() and message.body,
                "files": [a.filename for a in message.attachments if not a.sensitive][:20],
                "requests_url": my_requests_url(settings.base_url, locale),
            },
            idempotency_key=key,
            reference=conversation.reference,
            in_reply_to=in_reply_to,
            references=references,
        )
        if queued:
            await remember_message_ids(
                session, conversation.id, [message_id_for(key, settings)], ThreadDirection.OUT
            )

    return send_reply
