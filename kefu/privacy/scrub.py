"""The building blocks shared by retention and erasure: delete attachments (and their unshared blobs),
scrub a conversation's personal data, anonymise a contact.

None of them commits. Blobs are deleted once their last row is gone (within the caller's transaction):
should that transaction roll back, the rows stay pointing at deleted bytes, which is harmless because
they were due for deletion and the next run deletes them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import CustomerSession, CustomerSignInCode, LoginThrottle
from kefu.auth.throttle import account_key
from kefu.channels.phone.models import CallbackRequest
from kefu.chat.bot.models import BotSession
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.mail.models import InboundEmail
from kefu.privacy.models import PrivacyRequest
from kefu.ratings.models import SatisfactionRating
from kefu.recovery.models import OPEN_STATUSES, RecoveryCase, RecoveryDocument
from kefu.storage.base import BlobStore
from kefu.trust.models import IdentityChallenge

# What replaces removed text. Stored data, not an interface string: every reader shows it as is.
REMOVED: Final = "[removed]"
# Shorter values (initials, "Al") would mask unrelated words in staff messages; Chinese names are
# often two characters, and two CJK characters are specific enough.
MIN_MASK_CHARS: Final = 3
MIN_MASK_CHARS_CJK: Final = 2
# Event messages recording a change of these fields carry the customer's words in "from"/"to".
_PERSONAL_EVENT_FIELDS: Final = frozenset({"subject", "form_fields"})


@dataclass
class ScrubCounts:
    """What a scrub changed (counts only: these go into audit events)."""

    attachments: int = 0
    blobs: int = 0
    messages: int = 0
    staff_messages_masked: int = 0
    notes_removed: int = 0
    inbound_emails: int = 0
    identities: int = 0
    recovery_cases: int = 0
    attachment_ids: list[str] = field(default_factory=list)

    def as_details(self, *, with_ids: bool = True) -> dict[str, object]:
        """Audit details: counts, and the ids of deleted attachments when asked."""
        details: dict[str, object] = {
            "attachments": self.attachments,
            "blobs": self.blobs,
            "messages": self.messages,
            "staff_messages_masked": self.staff_messages_masked,
            "notes_removed": self.notes_removed,
            "inbound_emails": self.inbound_emails,
            "identities": self.identities,
            "recovery_cases": self.recovery_cases,
        }
        if with_ids:
            details["attachment_ids"] = list(self.attachment_ids)
        return details


async def blob_in_use(session: AsyncSession, key: str) -> bool:
    """Whether any row still names the blob `key` (attachments, raw emails, export archives)."""
    for column in (Attachment.blob_key, InboundEmail.raw_key, PrivacyRequest.blob_key):
        if await session.scalar(select(func.count()).where(column == key)):
            return True
    return False


async def delete_unreferenced_blobs(session: AsyncSession, blobs: BlobStore, keys: Iterable[str]) -> int:
    """Delete each blob of `keys` that no row references any more (flushes first); returns how many."""
    await session.flush()
    deleted = 0
    for key in sorted(set(keys)):
        if key and not await blob_in_use(session, key):
            await blobs.delete(key)
            deleted += 1
    return deleted


async def delete_conversation_attachments(
    session: AsyncSession,
    blobs: BlobStore,
    conversation_id: uuid.UUID,
    counts: ScrubCounts,
    *,
    include_documents: bool,
) -> None:
    """Delete the conversation's attachment rows and then their blobs unless another row shares them.

    Identity documents of recovery cases are left to the recovery purge unless `include_documents`.
    """
    query = select(Attachment.id, Attachment.blob_key).where(Attachment.conversation_id == conversation_id)
    if not include_documents:
        query = query.where(~Attachment.id.in_(select(RecoveryDocument.attachment_id)))
    rows = (await session.execute(query)).all()
    if not rows:
        return
    ids = [row.id for row in rows]
    await session.execute(
        delete(Attachment).where(Attachment.id.in_(ids)).execution_options(synchronize_session=False)
    )
    counts.attachments += len(ids)
    counts.attachment_ids.extend(str(i) for i in ids)
    counts.blobs += await delete_unreferenced_blobs(session, blobs, (row.blob_key for row in rows))


def maskable(value: str) -> bool:
    """Whether `value` is long enough to be masked without eating unrelated words."""
    return len(value) >= (MIN_MASK_CHARS if value.isascii() else MIN_MASK_CHARS_CJK)


def _pattern(value: str) -> str:
    # Latin names and ids match whole words only ("Al" must not eat "Also"); CJK text has no spaces
    # between words, so a value starting or ending in another script matches anywhere.
    head = r"(?<![A-Za-z0-9])" if value[0].isascii() and value[0].isalnum() else ""
    tail = r"(?![A-Za-z0-9])" if value[-1].isascii() and value[-1].isalnum() else ""
    return head + re.escape(value) + tail


def mask_values(text: str, values: Collection[str]) -> str:
    """`text` with every occurrence of each value (case-insensitive) replaced by the REMOVED marker."""
    wanted = sorted({v for v in values if maskable(v)}, key=len, reverse=True)
    if not text or not wanted:
        return text
    pattern = re.compile("|".join(_pattern(v) for v in wanted), re.IGNORECASE)
    return pattern.sub(REMOVED, text)


def _mentions(text: str, values: Collection[str]) -> bool:
    return mask_values(text, values) != text


async def scrub_conversation(
    session: AsyncSession,
    blobs: BlobStore,
    conversation: Conversation,
    identifiers: Collection[str],
    counts: ScrubCounts,
    *,
    keep_notes: bool = True,
    include_documents: bool = False,
) -> None:
    """Remove the customer's personal data from one conversation, keeping its skeleton and staff record.

    Customer and bot messages lose their text and data; staff replies and notes keep theirs with
    `identifiers` (the contact's name, emails, phones…) masked, or, unless `keep_notes`, notes that
    mention the customer are replaced whole. Subject, form fields, rating comment, callback number,
    inbound-email headers and raw copies, bot state and attachments go.
    """
    conversation_id = conversation.id
    await delete_conversation_attachments(
        session, blobs, conversation_id, counts, include_documents=include_documents
    )
    result = await session.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.author_kind.in_((AuthorKind.CUSTOMER, AuthorKind.BOT)),
            Message.kind != MessageKind.EVENT,
            Message.body != REMOVED,
        )
        .values(body=REMOVED, data={})
        .execution_options(synchronize_session=False)
    )
    counts.messages += int(getattr(result, "rowcount", 0) or 0)
    staff = await session.execute(
        select(Message.id, Message.kind, Message.body, Message.data).where(
            Message.conversation_id == conversation_id,
            Message.author_kind.in_((AuthorKind.AGENT, AuthorKind.SYSTEM)),
        )
    )
    for row in staff.all():
        values: dict[str, object] = {}
        if row.kind == MessageKind.EVENT:
            if row.data.get("field") in _PERSONAL_EVENT_FIELDS:
                values["data"] = {**row.data, "from": None, "to": None}
        elif row.kind == MessageKind.NOTE and not keep_notes and _mentions(row.body, identifiers):
            values["body"] = REMOVED
            counts.notes_removed += 1
        else:
            masked = mask_values(row.body, identifiers)
            if masked != row.body:
                values["body"] = masked
                counts.staff_messages_masked += 1
        if values:
            await session.execute(
                update(Message)
                .where(Message.id == row.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    conversation.subject = ""
    conversation.form_fields = dict.fromkeys(conversation.form_fields, REMOVED)
    await session.execute(
        update(SatisfactionRating)
        .where(SatisfactionRating.conversation_id == conversation_id)
        .values(comment="")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.conversation_id == conversation_id)
        .values(number="")
        .execution_options(synchronize_session=False)
    )
    await _mask_callback_notes(session, conversation_id, identifiers)
    await session.execute(
        update(IdentityChallenge)
        .where(IdentityChallenge.conversation_id == conversation_id)
        .values(destination="")
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(BotSession).where(BotSession.conversation_id == conversation_id))
    await _scrub_inbound_emails(session, blobs, conversation_id, counts)
    await _scrub_recovery_case(session, conversation_id, identifiers, counts)


async def _mask_callback_notes(
    session: AsyncSession, conversation_id: uuid.UUID, identifiers: Collection[str]
) -> None:
    rows = await session.scalars(
        select(CallbackRequest).where(CallbackRequest.conversation_id == conversation_id)
    )
    for row in rows:
        row.outcome_note = mask_values(row.outcome_note, identifiers)


async def _scrub_inbound_emails(
    session: AsyncSession, blobs: BlobStore, conversation_id: uuid.UUID, counts: ScrubCounts
) -> None:
    rows = list(
        await session.scalars(select(InboundEmail).where(InboundEmail.conversation_id == conversation_id))
    )
    for row in rows:
        row.envelope_from = None
        row.from_address = None
        row.subject = ""
        row.helo = None
        row.peer_ip = None
        row.reason = ""
        # The raw copy goes; the row keeps only what the mail pipeline needs to skip it for good.
        row.details = {"raw_discarded": True, "personal_data_removed": True}
        # The key stays (not nullable): the blob behind it is deleted below once unshared.
    counts.inbound_emails += len(rows)
    counts.blobs += await delete_raw_copies(session, blobs, rows)


async def delete_raw_copies(session: AsyncSession, blobs: BlobStore, rows: Collection[InboundEmail]) -> int:
    """Delete the raw-mail blobs of `rows` that no other email row or attachment shares; returns how many."""
    if not rows:
        return 0
    await session.flush()
    ids = [row.id for row in rows]
    deleted = 0
    for key in sorted({row.raw_key for row in rows}):
        shared = await session.scalar(
            select(func.count()).where(InboundEmail.raw_key == key, InboundEmail.id.not_in(ids))
        )
        attached = await session.scalar(select(func.count()).where(Attachment.blob_key == key))
        exported = await session.scalar(select(func.count()).where(PrivacyRequest.blob_key == key))
        if not (shared or attached or exported):
            await blobs.delete(key)
            deleted += 1
    return deleted


async def _scrub_recovery_case(
    session: AsyncSession, conversation_id: uuid.UUID, identifiers: Collection[str], counts: ScrubCounts
) -> None:
    case = await session.scalar(select(RecoveryCase).where(RecoveryCase.conversation_id == conversation_id))
    if case is None or case.status in OPEN_STATUSES:
        return
    # The decision (status, template, dates, reviewer, the exchange's action id) is the record kept.
    case.email = ""
    case.phone = None
    case.exchange_uid = None
    case.unlocked_uid = None
    case.description = ""
    case.decision_note = mask_values(case.decision_note, identifiers)
    counts.recovery_cases += 1


async def contact_identifiers(session: AsyncSession, contact_id: uuid.UUID) -> set[str]:
    """Every string that names the contact: name, identity values, what recovery forms and callbacks
    recorded. Used to mask mentions in staff text before the values themselves are deleted."""
    values: set[str] = set()
    contact = await session.get(Contact, contact_id)
    if contact is not None and contact.name.strip():
        values.add(contact.name.strip())
    identities = await session.execute(
        select(ContactIdentity.kind, ContactIdentity.value).where(ContactIdentity.contact_id == contact_id)
    )
    for kind, value in identities.all():
        values.add(value)
        if kind == IdentityKind.PHONE and value.startswith("+"):
            values.add(value[1:])
    cases = await session.execute(
        select(RecoveryCase.email, RecoveryCase.phone, RecoveryCase.exchange_uid).where(
            RecoveryCase.contact_id == contact_id
        )
    )
    for row in cases.all():
        values.update(v for v in row if v)
    numbers = await session.scalars(
        select(CallbackRequest.number)
        .join(Conversation, Conversation.id == CallbackRequest.conversation_id)
        .where(Conversation.contact_id == contact_id)
    )
    values.update(n for n in numbers if n)
    return {v for v in values if maskable(v)}


async def anonymise_contact(session: AsyncSession, contact_id: uuid.UUID, counts: ScrubCounts) -> None:
    """Drop the contact's name, identities, anti-phishing code, sign-in codes and sessions.

    The row stays (conversations reference it) as an anonymous "former customer"."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        return
    emails = list(
        await session.scalars(
            select(ContactIdentity.value).where(
                ContactIdentity.contact_id == contact_id, ContactIdentity.kind == IdentityKind.EMAIL
            )
        )
    )
    result = await session.execute(
        delete(ContactIdentity)
        .where(ContactIdentity.contact_id == contact_id)
        .execution_options(synchronize_session=False)
    )
    counts.identities += int(getattr(result, "rowcount", 0) or 0)
    await session.refresh(contact, ["identities"])
    contact.name = ""
    contact.anti_phishing_code_sealed = None
    contact.anti_phishing_code_set_at = None
    await session.execute(delete(CustomerSession).where(CustomerSession.contact_id == contact_id))
    code_filter = CustomerSignInCode.contact_id == contact_id
    if emails:
        code_filter = or_(code_filter, CustomerSignInCode.email.in_(emails))
    await session.execute(delete(CustomerSignInCode).where(code_filter))
    if emails:
        keys = [account_key(email) for email in emails]
        await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
    await session.execute(
        update(IdentityChallenge)
        .where(IdentityChallenge.contact_id == contact_id)
        .values(destination="")
        .execution_options(synchronize_session=False)
    )
