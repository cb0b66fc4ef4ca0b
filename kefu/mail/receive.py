"""Accepting an inbound message: store its raw bytes and queue its ingest, durably, before saying yes.

The SMTP listener answers 250 and the IMAP poller flags the message only after `accept_inbound`
returned, i.e. after the row, the compressed bytes and the `mail.ingest` job are committed. Parsing,
threading and conversation work happen in the job, so a slow or failing parse never loses mail.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.db.uow import transaction
from kefu.db.upsert import insert_or_ignore
from kefu.jobs.enqueue import enqueue
from kefu.mail.inbound.raw import compress_raw
from kefu.mail.models import InboundEmail, InboundSource, InboundStatus
from kefu.observability.metrics import EMAIL_INBOUND
from kefu.storage.base import BlobStore

MAIL_INGEST: Final = "mail.ingest"
# Ingest retries: a parse never fails, so retries only cover a database or blob store that is down.
INGEST_ATTEMPTS: Final = 12
_THREAD_BYTES: Final = 1024 * 1024


def _digest_and_compress(raw: bytes) -> tuple[str, bytes]:
    return hashlib.sha256(raw).hexdigest(), compress_raw(raw)


@dataclass(frozen=True)
class Envelope:
    """What the transport knew about a message besides its bytes."""

    mailbox: str
    source: InboundSource
    envelope_from: str | None = None
    peer_ip: str | None = None
    helo: str | None = None


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


async def accept_inbound(
    sessionmaker: async_sessionmaker[AsyncSession], blobs: BlobStore, raw: bytes, envelope: Envelope
) -> tuple[uuid.UUID, bool]:
    """Store `raw` for `envelope.mailbox` and queue its ingest; returns (row id, newly stored).

    Idempotent: the same bytes to the same mailbox return the first row (a sender retrying after a
    lost 250, an IMAP message seen twice). Raises only when the database or blob store fails, in which
    case the caller must answer "try again later".
    """
    if len(raw) > _THREAD_BYTES:
        # Hashing and compressing megabytes would stall every other request on this event loop.
        digest, compressed = await asyncio.to_thread(_digest_and_compress, raw)
    else:
        digest, compressed = _digest_and_compress(raw)
    raw_key = await blobs.put(compressed)
    row_id = new_id()
    async with transaction(sessionmaker) as session:
        values = {
            "id": row_id,
            "received_at": utcnow(),
            "source": envelope.source,
            "mailbox": envelope.mailbox,
            "envelope_from": _clip(envelope.envelope_from, 320),
            "peer_ip": _clip(envelope.peer_ip, 64),
            "helo": _clip(envelope.helo, 255),
            "raw_sha256": digest,
            "raw_key": raw_key,
            "size": len(raw),
            "subject": "",
            "status": InboundStatus.RECEIVED,
            "reason": "",
            "details": {},
        }
        statement = insert_or_ignore(
            session, InboundEmail, index_elements=("mailbox", "raw_sha256"), returning=("id",)
        )
        inserted = (await session.execute(statement, values)).scalar_one_or_none() is not None
        if not inserted:
            existing = await session.scalar(
                select(InboundEmail.id).where(
                    InboundEmail.mailbox == envelope.mailbox, InboundEmail.raw_sha256 == digest
                )
            )
            assert existing is not None
            EMAIL_INBOUND.labels(source=envelope.source.value, result="duplicate").inc()
            return existing, False
        await enqueue(
            session,
            MAIL_INGEST,
            {"inbound_id": str(row_id)},
            dedupe_key=f"mail-ingest:{row_id}",
            max_attempts=INGEST_ATTEMPTS,
        )
    EMAIL_INBOUND.labels(source=envelope.source.value, result="stored").inc()
    return row_id, True
