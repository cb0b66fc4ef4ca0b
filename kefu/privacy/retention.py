"""Retention: N days after a conversation is closed its attachments, then its personal data, are purged.

Counted from `closed_at` (closed is final, so the clock never restarts). Each run handles a bounded
batch of conversations; a backlog drains over the following runs. Every purge is audited with counts
and ids only, and marked in `conversation_purges` so it is done once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Exists

from kefu.audit.actions import add_audit
from kefu.conversations.models import Attachment, Conversation
from kefu.conversations.states import Status
from kefu.core.clock import utcnow
from kefu.privacy.models import ConversationPurge
from kefu.privacy.scrub import (
    ScrubCounts,
    anonymise_contact,
    contact_identifiers,
    delete_conversation_attachments,
    scrub_conversation,
)
from kefu.recovery.models import OPEN_STATUSES, RecoveryCase, RecoveryDocument
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 200


@dataclass(frozen=True)
class RetentionPolicy:
    """Days after closing; None keeps forever."""

    attachment_days: int | None
    personal_data_days: int | None
    batch: int = DEFAULT_BATCH

    @classmethod
    def of(cls, attachment_days: int | None, personal_data_days: int | None, batch: int) -> RetentionPolicy:
        """A policy from settings values, where 0 and None both mean "keep forever"."""
        return cls(attachment_days or None, personal_data_days or None, batch)


@dataclass(frozen=True)
class RetentionResult:
    attachments_conversations: int
    personal_data_conversations: int
    contacts_anonymised: int


async def _mark(session: AsyncSession, conversation_id: uuid.UUID) -> ConversationPurge:
    mark = await session.get(ConversationPurge, conversation_id)
    if mark is None:
        mark = ConversationPurge(conversation_id=conversation_id)
        session.add(mark)
    return mark


def _held() -> Exists:
    """Conversations whose recovery case is still open are under a legal hold."""
    return exists().where(
        RecoveryCase.conversation_id == Conversation.id, RecoveryCase.status.in_(list(OPEN_STATUSES))
    )


async def purge_expired_attachments(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    days: int,
    now: datetime | None = None,
    limit: int = DEFAULT_BATCH,
) -> int:
    """Delete the attachments (rows and unshared blobs) of conversations closed more than `days` ago.

    Identity documents are left to the recovery purge. Returns how many conversations were purged.
    """
    moment = now or utcnow()
    cutoff = moment - timedelta(days=days)
    has_files = exists().where(
        Attachment.conversation_id == Conversation.id,
        ~Attachment.id.in_(select(RecoveryDocument.attachment_id)),
    )
    held = _held()
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.status == Status.CLOSED, Conversation.closed_at < cutoff, has_files, ~held)
            .order_by(Conversation.closed_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Conversation)
        )
    )
    for conversation in conversations:
        counts = ScrubCounts()
        await delete_conversation_attachments(
            session, blobs, conversation.id, counts, include_documents=False
        )
        (await _mark(session, conversation.id)).attachments_purged_at = moment
        add_audit(
            session,
            action="privacy.attachments_purged",
            actor=None,
            target_type="conversation",
            target_id=str(conversation.id),
            details={
                "attachments": counts.attachments,
                "blobs": counts.blobs,
                "attachment_ids": counts.attachment_ids,
                "retention_days": days,
            },
        )
    await session.flush()
    return len(conversations)


async def purge_expired_personal_data(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    days: int,
    now: datetime | None = None,
    limit: int = DEFAULT_BATCH,
) -> tuple[int, int]:
    """Scrub conversations closed more than `days` ago, then anonymise contacts left with none retained.

    Returns (conversations scrubbed, contacts anonymised).
    """
    moment = now or utcnow()
    cutoff = moment - timedelta(days=days)
    purged = exists().where(
        ConversationPurge.conversation_id == Conversation.id,
        ConversationPurge.personal_data_purged_at.is_not(None),
    )
    held = _held()
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.status == Status.CLOSED, Conversation.closed_at < cutoff, ~purged, ~held)
            .order_by(Conversation.closed_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Conversation)
        )
    )
    contacts: dict[uuid.UUID, set[str]] = {}
    for conversation in conversations:
        if conversation.contact_id not in contacts:
            contacts[conversation.contact_id] = await contact_identifiers(session, conversation.contact_id)
        counts = ScrubCounts()
        await scrub_conversation(session, blobs, conversation, contacts[conversation.contact_id], counts)
        (await _mark(session, conversation.id)).personal_data_purged_at = moment
        add_audit(
            session,
            action="privacy.personal_data_purged",
            actor=None,
            target_type="conversation",
            target_id=str(conversation.id),
            details={**counts.as_details(), "retention_days": days},
        )
    await session.flush()
    anonymised = 0
    for contact_id in contacts:
        if await _still_retained(session, contact_id):
            continue
        counts = ScrubCounts()
        await anonymise_contact(session, contact_id, counts)
        anonymised += 1
        add_audit(
            session,
            action="privacy.contact_anonymised",
            actor=None,
            target_type="contact",
            target_id=str(contact_id),
            details={"identities": counts.identities},
        )
    await session.flush()
    return len(conversations), anonymised


async def _still_retained(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    """Whether the contact has a conversation not yet scrubbed, or an open recovery case."""
    unpurged = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .outerjoin(ConversationPurge, ConversationPurge.conversation_id == Conversation.id)
        .where(
            Conversation.contact_id == contact_id,
            or_(
                ConversationPurge.conversation_id.is_(None),
                ConversationPurge.personal_data_purged_at.is_(None),
            ),
        )
    )
    if unpurged:
        return True
    open_cases = await session.scalar(
        select(func.count()).where(
            RecoveryCase.contact_id == contact_id, RecoveryCase.status.in_(list(OPEN_STATUSES))
        )
    )
    return bool(open_cases)


async def run_retention(
    session: AsyncSession, blobs: BlobStore, policy: RetentionPolicy, *, now: datetime | None = None
) -> RetentionResult:
    """One round of every configured purge (nothing when both periods are "keep forever")."""
    moment = now or utcnow()
    attachments = personal = anonymised = 0
    if policy.attachment_days:
        attachments = await purge_expired_attachments(
            session, blobs, days=policy.attachment_days, now=moment, limit=policy.batch
        )
    if policy.personal_data_days:
        personal, anonymised = await purge_expired_personal_data(
            session, blobs, days=policy.personal_data_days, now=moment, limit=policy.batch
        )
    if attachments or personal:
        log.info(
            "retention_purged",
            attachments_conversations=attachments,
            personal_data_conversations=personal,
            contacts_anonymised=anonymised,
        )
    return RetentionResult(attachments, personal, anonymised)
