"""A chat's transcript by email, on the customer's request.

Only to an address the customer's contact already has (from a signed identity, a sign-in code or the
offline form): a transcript to any typed address would let anyone mail text of their choosing from
our domain. Asking twice without new messages sends nothing new (same idempotency key).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.service import agent_names, messages_after
from kefu.conversations.acknowledge import contact_email
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind
from kefu.core.errors import InvalidInput
from kefu.i18n import DEFAULT_LOCALE, get_translator, normalise_locale
from kefu.mail.outbox import queue_email
from kefu.mail.specs import MAX_TRANSCRIPT_LINES
from kefu.schedules.service import get_calendar_for_team


async def do_email_transcript(session: AsyncSession, conversation: Conversation, *, bot_name: str) -> str:
    """Queue the transcript to the customer's address and return it; InvalidInput when they have none."""
    to = await contact_email(session, conversation.contact_id)
    if to is None:
        raise InvalidInput("leave an email address first", fields={"email": "required"})
    locale = normalise_locale(conversation.locale) or DEFAULT_LOCALE
    t = get_translator(locale)
    # The newest lines when a chat is very long: the email stays readable and within limits.
    messages = [m for m in await messages_after(session, conversation.id, 0, limit=10_000) if m.body.strip()]
    messages = messages[-MAX_TRANSCRIPT_LINES:]
    if not messages:
        raise InvalidInput("there is nothing to send yet")
    names = await agent_names(session, {m.author_agent_id for m in messages if m.author_agent_id})
    you = t.gettext("You")
    lines = []
    for message in messages:
        if message.author_kind == AuthorKind.CUSTOMER:
            author = you
        elif message.author_kind == AuthorKind.BOT:
            author = bot_name
        else:
            agent = names.get(message.author_agent_id) if message.author_agent_id else None
            author = agent or t.gettext("Support")
        lines.append({"author": author, "at": message.created_at.isoformat(), "body": message.body})
    calendar = await get_calendar_for_team(session, conversation.team_id)
    await queue_email(
        session,
        template="chat_transcript",
        to=to,
        locale=locale,
        context={
            "reference": conversation.reference,
            "subject": conversation.subject or conversation.reference,
            "transcript": lines,
            "time_zone": calendar.zone.key,
        },
        idempotency_key=f"chat-transcript:{conversation.id}:{messages[-1].seq}",
        reference=conversation.reference,
    )
    return to
