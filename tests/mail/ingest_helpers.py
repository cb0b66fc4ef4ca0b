"""Shared by the inbound-mail tests: a support inbox, messages, and running the ingest job."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select

from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import JobContext, JobHandler
from kefu.mail.models import InboundEmail, InboundSource
from kefu.mail.receive import MAIL_INGEST, Envelope, accept_inbound
from kefu.runtime import Runtime

SUPPORT = "support@kefu.test"
ALICE = "alice@example.com"


def email(
    subject: str = "Deposit not credited",
    body: str = "My USDT deposit has not arrived.",
    *,
    sender: str = ALICE,
    to: str = SUPPORT,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return bytes(message)


async def deliver(
    runtime: Runtime, raw: bytes, ingest: JobHandler, *, mailbox: str = SUPPORT
) -> InboundEmail:
    """Store like the SMTP listener, then run the ingest job it queued; returns the final row."""
    inbound_id, _new = await accept_inbound(
        runtime.sessionmaker,
        runtime.blobs,
        raw,
        Envelope(mailbox=mailbox, source=InboundSource.SMTP, peer_ip="192.0.2.1"),
    )
    await run_ingest_jobs(runtime, ingest)
    async with transaction(runtime.sessionmaker) as session:
        row = await session.get(InboundEmail, inbound_id)
        assert row is not None
        return row


async def run_ingest_jobs(runtime: Runtime, ingest: JobHandler) -> int:
    ran = 0
    async with transaction(runtime.sessionmaker) as session:
        jobs = list(
            await session.scalars(
                select(OutboxJob).where(OutboxJob.name == MAIL_INGEST, OutboxJob.status == JobStatus.PENDING)
            )
        )
    for job in jobs:
        async with transaction(runtime.sessionmaker) as session:
            await ingest(JobContext(session, job.id, MAIL_INGEST, 1, job.dedupe_key or ""), dict(job.payload))
            stored = await session.get(OutboxJob, job.id)
            assert stored is not None
            stored.status = JobStatus.DONE
        ran += 1
    return ran


async def make_email_inbox(runtime: Runtime) -> Inbox:
    """Teams "general" (the inbox's) and "security", and the support inbox SUPPORT."""
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name="General", slug="general")
        security = Team(name="Security", slug="security")
        session.add_all([team, security])
        await session.flush()
        inbox = Inbox(name="Support email", channel=ChannelKind.EMAIL, address=SUPPORT, team_id=team.id)
        session.add(inbox)
    return inbox
