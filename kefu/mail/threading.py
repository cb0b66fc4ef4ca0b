"""Which conversation an inbound email continues, and whether its sender may join it.

Rules, strongest first: a Message-ID we know in In-Reply-To/References (ours outbound or theirs
inbound), a `+KF-12345678` plus-address, a `[KF-12345678]` reference in the subject. Whatever matched,
a sender who is not the conversation's customer does not join it silently: ingest holds the mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.core.ids import find_reference
from kefu.db.upsert import insert_or_ignore
from kefu.mail.inbound.results import ParsedEmail
from kefu.mail.models import MAX_MESSAGE_ID_LENGTH, EmailThreadId, ThreadDirection

# References can list a whole thread; the newest ones are at the end and are the ones worth trying.
MAX_REFERENCES_TRIED = 20


class MatchedBy(StrEnum):
    MESSAGE_ID = "message_id"
    PLUS_ADDRESS = "plus_address"
    SUBJECT = "subject"


@dataclass(frozen=True)
class ThreadMatch:
    conversation: Conversation
    matched_by: MatchedBy


def _candidate_ids(parsed: ParsedEmail) -> list[str]:
    ids = list(parsed.in_reply_to) + list(reversed(parsed.references))
    seen: dict[str, None] = {}
    for value in ids:
        if value and len(value) <= MAX_MESSAGE_ID_LENGTH:
            seen.setdefault(value, None)
    return list(seen)[:MAX_REFERENCES_TRIED]


async def _by_reference(session: AsyncSession, reference: str | None) -> Conversation | None:
    if reference is None:
        return None
    return await session.scalar(select(Conversation).where(Conversation.reference == reference))


async def find_thread(session: AsyncSession, parsed: ParsedEmail, tag: str | None) -> ThreadMatch | None:
    """The conversation this email continues, and by which rule; None for a new conversation."""
    candidates = _candidate_ids(parsed)
    if candidates:
        rows = await session.execute(
            select(EmailThreadId.message_id, EmailThreadId.conversation_id).where(
                EmailThreadId.message_id.in_(candidates)
            )
        )
        known: dict[str, uuid.UUID] = dict(rows.all())
        for candidate in candidates:
            if candidate in known:
                conversation = await session.get(Conversation, known[candidate])
                if conversation is not None:
                    return ThreadMatch(conversation, MatchedBy.MESSAGE_ID)
    by_tag = await _by_reference(session, find_reference(tag) if tag else None)
    if by_tag is not None:
        return ThreadMatch(by_tag, MatchedBy.PLUS_ADDRESS)
    by_subject = await _by_reference(session, find_reference(parsed.subject))
    if by_subject is not None:
        return ThreadMatch(by_subject, MatchedBy.SUBJECT)
    return None


async def is_participant(session: AsyncSession, conversation: Conversation, address: str | None) -> bool:
    """Whether `address` is an email address of the conversation's customer."""
    if not address:
        return False
    owner = await session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value == address.lower()
        )
    )
    return owner == conversation.contact_id


async def remember_message_ids(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    message_ids: Iterable[str | None],
    direction: ThreadDirection,
    *,
    incoming: Iterable[str | None] = (),
) -> None:
    """Record Message-IDs as belonging to the conversation (first writer wins; a reused id is ignored).

    `incoming`: inbound ids recorded by the same statement (a new email and our acknowledgement of it).
    """
    rows = [
        {"message_id": value, "conversation_id": conversation_id, "direction": way}
        for ids, way in ((incoming, ThreadDirection.IN), (message_ids, direction))
        for value in dict.fromkeys(m for m in ids if m and len(m) <= MAX_MESSAGE_ID_LENGTH)
    ]
    if rows:
        await session.execute(insert_or_ignore(session, EmailThreadId), rows)
