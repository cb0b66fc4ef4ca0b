"""Secrets in inbound email: the subject is cleaned before it is stored anywhere, the customer is told
by email, and the raw message (which still holds the secret) is deleted once the ingest committed.

Bodies are redacted by the conversation ingest path itself (kefu.conversations.redaction).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.acknowledge import my_requests_url
from kefu.conversations.models import Conversation, Message
from kefu.conversations.redaction import REDACTED_KEY, audit_redaction, distinct, redact_text
from kefu.jobs.enqueue import enqueue
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError
from kefu.mail.inbound.results import ParsedEmail
from kefu.mail.models import InboundEmail, InboundStatus
from kefu.mail.outbox import queue_email
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.trust.labels import secret_labels

MAIL_DISCARD_RAW: Final = "mail.discard_raw"


def redact_subject(parsed: ParsedEmail) -> tuple[ParsedEmail, tuple[str, ...]]:
    """`parsed` with its subject redacted (it is stored on the inbound row, notes and the conversation)."""
    subject = redact_text(parsed.subject)
    if not subject.kinds:
        return parsed, ()
    return dataclasses.replace(parsed, subject=subject.text), subject.kinds


async def after_ingest(
    session: AsyncSession,
    row: InboundEmail,
    conversation: Conversation,
    message: Message,
    subject_kinds: tuple[str, ...],
    *,
    sender: str | None,
    settings: Settings,
) -> None:
    """When the email held a secret: audit the subject's, email the sender why, drop the raw copy."""
    body_kinds = message.data.get(REDACTED_KEY) or []
    found = distinct([*subject_kinds, *body_kinds])
    if not found:
        return
    if subject_kinds:
        audit_redaction(session, conversation, None, subject_kinds, where="email_subject", message=message)
    if sender is not None:
        await queue_email(
            session,
            template="secret_redacted",
            to=sender,
            locale=conversation.locale,
            context={
                "reference": conversation.reference,
                "labels": secret_labels(list(found)),
                "requests_url": my_requests_url(settings.base_url, conversation.locale),
            },
            idempotency_key=f"secret-redacted:{message.id}",
            reference=conversation.reference,
        )
    row.details = {**row.details, "secret_redacted": list(found)}
    await enqueue(session, MAIL_DISCARD_RAW, {"inbound_id": str(row.id)}, dedupe_key=f"discard-raw:{row.id}")


def bind_discard_raw(blobs: BlobStore) -> JobHandler:
    """`mail.discard_raw`: delete an ingested email's raw copy once no unprocessed row still needs it."""

    async def discard(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            inbound_id = uuid.UUID(str(payload["inbound_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed {MAIL_DISCARD_RAW} payload: {exc}") from exc
        row = await ctx.session.get(InboundEmail, inbound_id, with_for_update=True)
        if row is None or row.details.get("raw_discarded"):
            return
        # Blobs are content-addressed: the same bytes received again (a duplicate delivery) share it.
        waiting = await ctx.session.scalar(
            select(func.count())
            .select_from(InboundEmail)
            .where(
                InboundEmail.raw_key == row.raw_key,
                InboundEmail.id != row.id,
                InboundEmail.status.in_((InboundStatus.RECEIVED, InboundStatus.HELD)),
            )
        )
        if waiting:
            return
        await blobs.delete(row.raw_key)
        row.details = {**row.details, "raw_discarded": True}

    return discard
