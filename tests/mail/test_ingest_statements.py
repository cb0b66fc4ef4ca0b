"""The statements one typical email costs, pinned: ingest and sending its acknowledgement are the
busiest mail paths (docs/performance.md, "Inbound email"), so a change that adds round trips fails
here instead of showing up only in the benchmark. Both databases."""

from __future__ import annotations

import io
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event, select

from kefu.db.uow import transaction
from kefu.inboxes.models import Inbox
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext, JobHandler
from kefu.mail.inbound.dns import StaticResolver
from kefu.mail.ingest import bind_ingest
from kefu.mail.jobs import mail_handlers
from kefu.mail.models import InboundSource, InboundStatus
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.receive import Envelope, accept_inbound
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.mail.ingest_helpers import SUPPORT, make_email_inbox, run_ingest_jobs


@pytest.fixture
async def mailbox(runtime: Runtime) -> Inbox:
    return await make_email_inbox(runtime)


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs, BEGIN and COMMIT excluded (the driver sends those)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def typical(sender: str) -> bytes:
    """Like bench/email_ingest.py's message: a short text and one screenshot."""
    image = Image.new("RGB", (40, 30), (200, 40, 40))
    png = io.BytesIO()
    image.save(png, format="PNG")
    mail = EmailMessage()
    mail["From"] = f"Customer <{sender}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Deposit not credited"
    mail["Message-ID"] = make_msgid(domain="example.com")
    mail.set_content("My USDT deposit has not arrived.\n")
    mail.add_attachment(png.getvalue(), maintype="image", subtype="png", filename="screenshot.png")
    return bytes(mail)


async def _ingest_one(runtime: Runtime, ingest: JobHandler, raw: bytes, statements: list[str]) -> list[str]:
    await accept_inbound(
        runtime.sessionmaker,
        runtime.blobs,
        raw,
        Envelope(mailbox=SUPPORT, source=InboundSource.SMTP, peer_ip="192.0.2.1"),
    )
    statements.clear()
    assert await run_ingest_jobs(runtime, ingest) == 1
    # run_ingest_jobs lists the pending jobs first, then reads the job and, at commit, writes it
    # together with the inbound row (ingest's one UPDATE, flushed at commit).
    assert statements[-3:] == ["SELECT", "UPDATE", "UPDATE"], statements
    return [*statements[1:-3], "UPDATE"]


async def test_a_new_email_costs_a_fixed_number_of_statements(
    db: Database, runtime: Runtime, mailbox: Inbox, statements: list[str]
) -> None:
    ingest = bind_ingest(runtime.settings, runtime.blobs, StaticResolver())
    # Warm the per-process configuration caches (routing rules, SLA policies, hours, domains).
    await _ingest_one(runtime, ingest, typical("warm@example.com"), statements)

    new_sender = await _ingest_one(runtime, ingest, typical("new@example.com"), statements)
    known_sender = await _ingest_one(runtime, ingest, typical("new@example.com"), statements)

    # Row lock, sender rate, identity lookup, opening (conversation, message and SLA clocks: one
    # statement on PostgreSQL, three on SQLite), acknowledgement job, both Message-IDs in one
    # statement, the attachment, the row's one UPDATE. (The team routes manually: no routing lock.)
    opening = 1 if db.engine.dialect.name == "postgresql" else 3
    assert len(known_sender) == 7 + opening, known_sender
    # A new sender adds the contact and its identity.
    assert len(new_sender) == 9 + opening, new_sender
    assert known_sender.count("UPDATE") == 1  # the inbound row, once, with its outcome
    assert new_sender.count("INSERT") == known_sender.count("INSERT") + 2
    async with transaction(runtime.sessionmaker) as session:
        rows = await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        assert len(list(rows)) == 3  # every email was acknowledged

    from kefu.mail.models import InboundEmail

    async with transaction(runtime.sessionmaker) as session:
        stored = list(await session.scalars(select(InboundEmail)))
    assert {row.status for row in stored} == {InboundStatus.INGESTED}
    assert all(row.from_address and row.subject == "Deposit not credited" for row in stored)
    assert all(row.details["verdict"] and "problems" in row.details for row in stored)


async def test_sending_an_acknowledgement_reads_the_anti_phishing_code_in_one_statement(
    runtime: Runtime, mailbox: Inbox, statements: list[str]
) -> None:
    ingest = bind_ingest(runtime.settings, runtime.blobs, StaticResolver())
    await _ingest_one(runtime, ingest, typical("alice@example.com"), statements)
    send = mail_handlers(runtime.settings, runtime.mail)[MAIL_SEND]
    async with transaction(runtime.sessionmaker) as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        assert job is not None
    statements.clear()
    async with transaction(runtime.sessionmaker) as session:
        await send(JobContext(session, job.id, MAIL_SEND, 1, job.dedupe_key or ""), dict(job.payload))
    # The code lookup (two columns, no contact entity with its relations) and the scrub of the payload.
    assert statements.count("SELECT") == 1, statements
