"""Erasure of one customer's personal data on request (GDPR art. 17, PIPL art. 47).

What goes: the contact's name, identities (emails, phones, exchange and channel ids), anti-phishing
code, sign-in codes and sessions; the text and data of every message the customer (or the bot
talking to them) wrote; subjects and form fields; attachments including identity documents; rating
comments; callback numbers; inbound-email headers and raw copies; recovery-form details; outbox
payloads that name them. What stays: the conversation skeletons (reference, dates, status, category,
assignee), staff replies and notes with the customer's identifiers masked (or, when configured,
notes mentioning them replaced whole), recovery decisions: the support record the exchange must keep.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.mail.models import InboundEmail, InboundStatus
from kefu.privacy.models import ConversationPurge
from kefu.privacy.scrub import (
    REMOVED,
    ScrubCounts,
    anonymise_contact,
    contact_identifiers,
    delete_raw_copies,
    scrub_conversation,
)
from kefu.recovery.models import OPEN_STATUSES, RecoveryCase
from kefu.storage.base import BlobStore
from kefu.webhooks.models import DeliveryStatus, WebhookDelivery

# Conversations in these states are finished; erasing an active one would cut a live exchange short.
_FINISHED = (Status.SOLVED, Status.CLOSED)


class LegalHold(Conflict):
    """The contact's data must be kept for now (an open recovery case, a security hold, an open request)."""

    code = "legal_hold"


async def legal_holds(
    session: AsyncSession, contact_id: uuid.UUID, *, now: datetime | None = None
) -> list[str]:
    """Why the contact's data cannot be erased now (empty when it can)."""
    moment = now or utcnow()
    holds = []
    open_cases = await session.scalar(
        select(func.count()).where(
            RecoveryCase.contact_id == contact_id, RecoveryCase.status.in_(list(OPEN_STATUSES))
        )
    )
    if open_cases:
        holds.append("open_recovery_case")
    security = await session.scalar(
        select(func.count()).where(
            RecoveryCase.contact_id == contact_id, RecoveryCase.security_hold_until > moment
        )
    )
    if security:
        holds.append("security_hold")
    active = await session.scalar(
        select(func.count()).where(
            Conversation.contact_id == contact_id, Conversation.status.not_in(_FINISHED)
        )
    )
    if active:
        holds.append("open_conversation")
    return holds


async def check_erasable(
    session: AsyncSession, contact_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Raise LegalHold (409) when the contact's data must be kept for now."""
    holds = await legal_holds(session, contact_id, now=now)
    if holds:
        raise LegalHold(
            "this customer's data is under a legal hold: " + ", ".join(holds),
            fields=dict.fromkeys(holds, "hold"),
        )


def _payload_patterns(identifiers: Collection[str]) -> set[str]:
    # JSON text may escape non-ASCII (SQLite's JSON is json.dumps output; PostgreSQL's jsonb is not).
    patterns = set()
    for value in identifiers:
        patterns.add(value.lower())
        patterns.add(json.dumps(value)[1:-1].lower())
    return patterns


def _mentions(column: Any, needles: Collection[str]) -> ColumnElement[bool]:
    text = func.lower(cast(column, Text))
    return or_(*(text.contains(p, autoescape=True) for p in _payload_patterns(needles)))


async def _scrub_outbox(session: AsyncSession, needles: Collection[str], now: datetime) -> int:
    """Queued and finished jobs naming the customer or their conversations lose their payload; queued
    ones are cancelled (no mail goes to an erased address)."""
    if not needles:
        return 0
    error = func.coalesce(OutboxJob.last_error, "")
    jobs = list(
        await session.scalars(
            select(OutboxJob)
            .where(
                OutboxJob.status != JobStatus.RUNNING,
                or_(_mentions(OutboxJob.payload, needles), _mentions(error, needles)),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for job in jobs:
        job.payload = {"erased": True}
        job.last_error = "customer data erased"
        if job.status == JobStatus.PENDING:
            job.status = JobStatus.DEAD
            job.finished_at = now
    return len(jobs)


async def _scrub_webhook_deliveries(session: AsyncSession, needles: Collection[str]) -> int:
    """Webhook bodies about the customer or their conversations (kept for the delivery log) go too."""
    if not needles:
        return 0
    rows = list(
        await session.scalars(
            select(WebhookDelivery).where(
                or_(_mentions(WebhookDelivery.body, needles), _mentions(WebhookDelivery.attempt_log, needles))
            )
        )
    )
    for row in rows:
        row.body = {"erased": True}
        row.attempt_log = []
        row.response_excerpt = None
        if row.status == DeliveryStatus.PENDING:
            row.status = DeliveryStatus.FAILED
            row.error = "customer data erased"
    return len(rows)


async def do_erase_contact(
    session: AsyncSession,
    blobs: BlobStore,
    contact_id: uuid.UUID,
    *,
    keep_notes: bool,
    now: datetime | None = None,
) -> dict[str, int]:
    """Erase the contact's personal data (see the module docstring); LegalHold when it must be kept.

    Precondition: the contact exists. Returns counts for the audit trail. Never commits.
    """
    moment = now or utcnow()
    await check_erasable(session, contact_id, now=moment)
    identifiers = await contact_identifiers(session, contact_id)
    emails = {v for v in identifiers if "@" in v}
    counts = ScrubCounts()
    conversations = list(
        await session.scalars(
            select(Conversation).where(Conversation.contact_id == contact_id).with_for_update(of=Conversation)
        )
    )
    for conversation in conversations:
        await scrub_conversation(
            session, blobs, conversation, identifiers, counts, keep_notes=keep_notes, include_documents=True
        )
        mark = await session.get(ConversationPurge, conversation.id)
        if mark is None:
            mark = ConversationPurge(conversation_id=conversation.id)
            session.add(mark)
        mark.erased_at = moment
        mark.personal_data_purged_at = mark.personal_data_purged_at or moment
    # Their documents went with the attachments above.
    await session.execute(
        update(RecoveryCase)
        .where(RecoveryCase.contact_id == contact_id, RecoveryCase.purged_at.is_(None))
        .values(purged_at=moment)
        .execution_options(synchronize_session=False)
    )
    # What they wrote in other people's conversations (a Cc on an email thread).
    result = await session.execute(
        update(Message)
        .where(
            Message.author_contact_id == contact_id,
            Message.author_kind == AuthorKind.CUSTOMER,
            Message.kind != MessageKind.EVENT,
            Message.body != REMOVED,
        )
        .values(body=REMOVED, data={})
        .execution_options(synchronize_session=False)
    )
    counts.messages += int(getattr(result, "rowcount", 0) or 0)
    counts.inbound_emails += await _scrub_loose_emails(session, blobs, emails)
    # Payloads name the customer, or only their conversations (a transcript mailed by reference).
    needles = {*identifiers, str(contact_id)}
    for conversation in conversations:
        needles.update((str(conversation.id), conversation.reference))
    jobs = await _scrub_outbox(session, needles, moment)
    webhooks = await _scrub_webhook_deliveries(session, needles)
    await anonymise_contact(session, contact_id, counts)
    await session.flush()
    details = counts.as_details(with_ids=False)
    return {
        **{k: int(v) for k, v in details.items() if isinstance(v, int)},
        "conversations": len(conversations),
        "jobs": jobs,
        "webhook_deliveries": webhooks,
    }


async def _scrub_loose_emails(session: AsyncSession, blobs: BlobStore, emails: Collection[str]) -> int:
    """Mail from the customer that never joined one of their conversations (held, ignored, failed)."""
    if not emails:
        return 0
    rows = list(
        await session.scalars(
            select(InboundEmail).where(
                or_(InboundEmail.from_address.in_(list(emails)), InboundEmail.envelope_from.in_(list(emails)))
            )
        )
    )
    for row in rows:
        row.from_address = None
        row.envelope_from = None
        row.subject = ""
        row.helo = None
        row.peer_ip = None
        row.reason = ""
        if row.status in (InboundStatus.RECEIVED, InboundStatus.HELD):
            row.status = InboundStatus.IGNORED
        row.details = {"raw_discarded": True, "personal_data_removed": True}
    await delete_raw_copies(session, blobs, rows)
    return len(rows)
