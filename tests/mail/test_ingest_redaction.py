"""Secrets in inbound email: subject and body redacted everywhere they are kept, the sender told by
email, and the raw copy (which still holds them) deleted after the ingest committed. Both databases."""

from __future__ import annotations

from typing import Any

import pytest
from mnemonic import Mnemonic
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.db.uow import transaction
from kefu.inboxes.models import Inbox
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import JobContext, JobHandler
from kefu.mail.inbound.dns import StaticResolver
from kefu.mail.ingest import bind_ingest
from kefu.mail.models import InboundEmail
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.redaction import MAIL_DISCARD_RAW, bind_discard_raw
from kefu.runtime import Runtime
from tests.mail.ingest_helpers import ALICE, deliver, email, make_email_inbox

SEED = Mnemonic("english").to_mnemonic(bytes(range(32)))


@pytest.fixture
async def mailbox(runtime: Runtime) -> Inbox:
    return await make_email_inbox(runtime)


@pytest.fixture
def ingest(runtime: Runtime) -> JobHandler:
    return bind_ingest(runtime.settings, runtime.blobs, StaticResolver())


async def _jobs(runtime: Runtime, name: str) -> list[OutboxJob]:
    async with transaction(runtime.sessionmaker) as session:
        return list(await session.scalars(select(OutboxJob).where(OutboxJob.name == name)))


async def _run(runtime: Runtime, name: str, handler: JobHandler) -> None:
    for job in await _jobs(runtime, name):
        async with transaction(runtime.sessionmaker) as session:
            await handler(JobContext(session, job.id, name, 1, job.dedupe_key or ""), dict(job.payload))
            stored = await session.get(OutboxJob, job.id)
            assert stored is not None
            stored.status = JobStatus.DONE


async def _mail_payloads(runtime: Runtime, template: str) -> list[dict[str, Any]]:
    return [j.payload for j in await _jobs(runtime, MAIL_SEND) if j.payload["template"] == template]


async def test_a_seed_phrase_in_an_email_is_removed_and_the_sender_told(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    raw = email(subject="password is Sup3rSecret!", body=f"Please restore my wallet: {SEED}")
    row = await deliver(runtime, raw, ingest)
    words = SEED.split()
    assert row.subject == "password is [redacted: password]"
    assert row.details["secret_redacted"] == ["password", "seed_phrase"]
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, row.conversation_id)
        assert conversation is not None
        assert "Sup3rSecret" not in conversation.subject
        messages = list(
            await session.scalars(select(Message).where(Message.conversation_id == conversation.id))
        )
        audits = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "conversation.secret_redacted")
            )
        )
    stored_text = " ".join(m.body + str(m.data) for m in messages)
    assert words[7] not in stored_text
    assert "Sup3rSecret" not in stored_text
    assert "[redacted: seed phrase]" in messages[0].body
    assert {a.details["where"] for a in audits} == {"body", "email_subject"}
    (notice,) = await _mail_payloads(runtime, "secret_redacted")
    assert notice["to"] == ALICE
    assert notice["context"]["labels"] == ["password", "seed phrase (recovery words)"]

    # The raw message still held the secret: once the ingest committed, it is deleted.
    assert await runtime.blobs.exists(row.raw_key)
    await _run(runtime, MAIL_DISCARD_RAW, bind_discard_raw(runtime.blobs))
    assert not await runtime.blobs.exists(row.raw_key)
    async with transaction(runtime.sessionmaker) as session:
        stored = await session.get(InboundEmail, row.id)
        assert stored is not None
        assert stored.details["raw_discarded"] is True
    # Running it again is harmless.
    await _run(runtime, MAIL_DISCARD_RAW, bind_discard_raw(runtime.blobs))


async def test_mail_without_secrets_keeps_its_raw_copy_and_sends_no_notice(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    row = await deliver(runtime, email(body="Deposit tx 0x" + "9f" * 32 + " is missing"), ingest)
    assert "secret_redacted" not in row.details
    assert await _jobs(runtime, MAIL_DISCARD_RAW) == []
    assert await _mail_payloads(runtime, "secret_redacted") == []
    assert await runtime.blobs.exists(row.raw_key)


async def test_a_mail_needing_review_does_not_attach_an_original_that_holds_a_secret(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    # No From address: the parser flags it for review, which normally attaches original.eml.
    raw = email(body=f"seed {SEED}").replace(b"From: Alice <alice@example.com>\n", b"")
    row = await deliver(runtime, raw, ingest)
    async with transaction(runtime.sessionmaker) as session:
        files = list(
            await session.scalars(select(Attachment).where(Attachment.conversation_id == row.conversation_id))
        )
    assert files == []
    assert row.details["secret_redacted"] == ["seed_phrase"]
    assert await _mail_payloads(runtime, "secret_redacted") == []  # nobody to tell
