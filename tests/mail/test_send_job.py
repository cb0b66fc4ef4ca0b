"""End to end: queue_email in a transaction → the outbox worker → a real SMTP server.

Covers delivery, a relay that is down (retried with backoff, then delivered exactly once), a
permanent refusal (the job dies with the reason), expiry, scrubbing of secrets and the runtime wiring.
"""

from __future__ import annotations

import email.policy
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from sqlalchemy import select

from kefu.core.clock import FrozenClock, utcnow
from kefu.db.uow import transaction
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import JobContext
from kefu.jobs.worker import Worker
from kefu.mail.file import FileTransport
from kefu.mail.outbox import MAIL_SEND, message_id_for, queue_email
from kefu.mail.sender import REDACTED
from kefu.runtime import Runtime, build_job_handlers
from kefu.settings import Settings
from tests.conftest import Database
from tests.mail.conftest import mail_worker, run_all, smtp_settings, smtp_transport
from tests.mail.sink import SmtpSink, closed_port

HOSTILE_SUBJECT = "充币没到账 <script>alert(1)</script>\r\nBcc: x@evil.example"


def acknowledgement(key: str = "ack:KF-12345678", **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "template": "request_received",
        "to": "alice@example.com",
        "locale": "zh-CN",
        "context": {
            "reference": "KF-12345678",
            "subject": HOSTILE_SUBJECT,
            "first_response_due": "2025-03-01T14:00:00+00:00",
            "requests_url": "https://kefu.test/hc/zh-CN/requests",
            "time_zone": "Asia/Shanghai",
        },
        "idempotency_key": key,
        "reference": "KF-12345678",
        "in_reply_to": "<customer-1@example.com>",
        "references": ["<customer-1@example.com>"],
        "anti_phishing_code": "BLUE-42",
    }
    return arguments | changes


def sign_in(key: str = "sign-in:1", **changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "template": "customer_sign_in",
        "to": "bob@example.com",
        "locale": "en",
        "context": {
            "code": "654321",
            "link": "https://kefu.test/hc/en/requests/sign-in?t=secret",
            "minutes": 15,
        },
        "idempotency_key": key,
    }
    return arguments | changes


async def queue(db: Database, **arguments: Any) -> bool:
    async with transaction(db.sessionmaker) as session:
        return await queue_email(session, **arguments)


async def only_job(db: Database) -> OutboxJob:
    async with db.sessionmaker() as session:
        [job] = (await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))).all()
        return job


async def test_queued_email_arrives_once_with_the_right_headers_and_parts(
    db: Database, settings: Settings, smtp_sink: SmtpSink, clock: FrozenClock
) -> None:
    settings = smtp_settings(settings, smtp_sink.port)
    assert await queue(db, **acknowledgement())
    worker = mail_worker(db, settings, smtp_transport(smtp_sink.port))
    assert await run_all(worker) == 1

    [received] = smtp_sink.received
    assert received.mail_from == "support@kefu.test"
    assert received.rcpt_tos == ("alice@example.com",)
    message = received.message()
    assert message["From"] == "Kefu Support <support@kefu.test>"
    assert message["To"] == "alice@example.com"
    assert message["Bcc"] is None
    assert message["Cc"] is None
    assert message["Subject"].endswith(" [KF-12345678]")
    assert message["Subject"].startswith(
        "我们已收到您的工单：充币没到账 <script>alert(1)</script> Bcc: x@evil"
    )
    assert message["Message-ID"] == message_id_for("ack:KF-12345678", settings)
    assert message["In-Reply-To"] == "<customer-1@example.com>"
    assert message["References"] == "<customer-1@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] == "Sat, 01 Mar 2025 12:00:00 +0000"
    assert message.get_content_type() == "multipart/alternative"
    text, html = (message.get_body((kind,)) for kind in ("plain", "html"))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    text_body, html_body = text.get_content(), html.get_content()
    assert text_body.startswith("您的防钓鱼码：BLUE-42")
    assert "您的工单编号是 KF-12345678。" in text_body
    assert "2025年3月1日周六 22:00 (Asia/Shanghai)" in text_body
    assert "<script>" not in html_body
    assert "充币没到账 &lt;script&gt;alert(1)&lt;/script&gt; Bcc: x@evil.example" in html_body

    job = await only_job(db)
    assert job.status == JobStatus.DONE
    assert job.attempts == 1
    assert job.payload["anti_phishing_code"] is None  # scrubbed once sent
    assert job.payload["context"]["reference"] == "KF-12345678"  # not a secret: kept

    # Re-running the worker or re-queuing the same key sends nothing more.
    assert await run_all(worker) == 0
    assert not await queue(db, **acknowledgement())
    assert await run_all(worker) == 0
    assert len(smtp_sink.received) == 1


async def test_relay_down_retries_with_backoff_then_delivers_exactly_once(
    db: Database, settings: Settings, clock: FrozenClock
) -> None:
    sock, port = closed_port()
    settings = smtp_settings(settings, port)
    worker = mail_worker(db, settings, smtp_transport(port))
    assert await queue(db, **sign_in())
    with sock:
        assert await run_all(worker) == 1
    job = await only_job(db)
    assert job.status == JobStatus.PENDING
    assert job.attempts == 1
    assert job.run_at > utcnow()
    assert job.last_error is not None
    assert "TransientMailError" in job.last_error
    assert "SMTPConnect" in job.last_error
    assert job.payload["context"]["code"] == "654321"  # still needed for the retry
    assert await run_all(worker) == 0  # not due yet

    with SmtpSink(port) as sink:
        clock.advance(timedelta(seconds=3))  # past the first backoff, within the code's 15 minutes
        assert await run_all(worker) == 1
        assert await run_all(worker) == 0
        assert not await queue(db, **sign_in())
        assert await run_all(worker) == 0
        received = list(sink.received)
    assert len(received) == 1
    message = received[0].message()
    assert message["Message-ID"] == message_id_for("sign-in:1", settings)
    assert message["Subject"] == "Your sign-in code"
    assert "654321" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    job = await only_job(db)
    assert (job.status, job.attempts) == (JobStatus.DONE, 2)
    # Codes and links never outlive their sending in the outbox table.
    assert job.payload["context"] == {"code": REDACTED, "link": REDACTED, "minutes": 15}


async def test_permanent_refusal_kills_the_job_with_the_reason(
    db: Database, settings: Settings, smtp_sink: SmtpSink, clock: FrozenClock
) -> None:
    smtp_sink.refuse_recipient("gone@example.com", "550 5.1.1 No such user here")
    worker = mail_worker(db, smtp_settings(settings, smtp_sink.port), smtp_transport(smtp_sink.port))
    assert await queue(db, **sign_in(to="gone@example.com"))
    assert await run_all(worker) == 1
    job = await only_job(db)
    assert job.status == JobStatus.DEAD
    assert job.attempts == 1
    assert job.finished_at is not None
    assert job.last_error is not None
    assert "550 5.1.1 No such user here" in job.last_error
    clock.advance(timedelta(hours=2))
    assert await run_all(worker) == 0  # no endless retry
    assert smtp_sink.received == []


async def test_a_sign_in_email_is_dropped_once_its_code_expired(
    db: Database, settings: Settings, smtp_sink: SmtpSink, clock: FrozenClock
) -> None:
    worker = mail_worker(db, smtp_settings(settings, smtp_sink.port), smtp_transport(smtp_sink.port))
    assert await queue(db, **sign_in())
    clock.advance(timedelta(minutes=15))
    assert await run_all(worker) == 1
    job = await only_job(db)
    assert job.status == JobStatus.DEAD
    assert job.last_error is not None
    assert "expired" in job.last_error
    assert smtp_sink.received == []


async def test_malformed_payload_dies_at_once(db: Database, settings: Settings, smtp_sink: SmtpSink) -> None:
    worker = mail_worker(db, smtp_settings(settings, smtp_sink.port), smtp_transport(smtp_sink.port))
    async with transaction(db.sessionmaker) as session:
        await enqueue(session, MAIL_SEND, {"template": "customer_sign_in", "to": ["x"]}, max_attempts=5)
        await enqueue(
            session,
            MAIL_SEND,
            {**sign_in(), "template": "retired_template", "queued_at": "2025-03-01T12:00:00Z"},
            max_attempts=5,
        )
    assert await run_all(worker) == 2
    async with db.sessionmaker() as session:
        found = (await session.scalars(select(OutboxJob).order_by(OutboxJob.created_at))).all()
    assert {job.status for job in found} == {JobStatus.DEAD}
    errors = " ".join(job.last_error or "" for job in found)
    assert "malformed mail.send payload" in errors
    assert "no email template called 'retired_template'" in errors
    assert smtp_sink.received == []


async def test_the_runtime_gives_the_worker_its_mail_transport(
    db: Database, runtime: Runtime, settings: Settings
) -> None:
    # The default runtime writes .eml files under data_dir (the in-process default of `make run`).
    assert isinstance(runtime.mail, FileTransport)
    registry = build_job_handlers(runtime)
    assert MAIL_SEND in registry.names()
    assert "incident.notify" in registry.names()  # static handlers are still there
    assert await queue(db, **sign_in())
    job = await only_job(db)
    handler = registry.get(MAIL_SEND)
    assert handler is not None
    async with transaction(db.sessionmaker) as session:
        await handler(JobContext(session, job.id, MAIL_SEND, 1, job.dedupe_key or ""), dict(job.payload))
    [written] = list((settings.data_dir / "mail" / "outbox").iterdir())
    parsed = BytesParser(policy=email.policy.default).parsebytes(written.read_bytes())
    assert parsed["Message-ID"] == message_id_for("sign-in:1", settings)
    assert parsed["To"] == "bob@example.com"


async def test_a_runtime_can_be_handed_a_transport(
    db: Database, runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    transport = smtp_transport(smtp_sink.port)
    custom = Runtime(
        settings=runtime.settings,
        engine=runtime.engine,
        sessionmaker=runtime.sessionmaker,
        blobs=runtime.blobs,
        pubsub=runtime.pubsub,
        bus=runtime.bus,
        exchange=runtime.exchange,
        mail_transport=transport,
    )
    assert custom.mail is transport
    assert await queue(db, **sign_in())
    assert await run_all(Worker(db.sessionmaker, build_job_handlers(custom))) == 1
    assert [r.rcpt_tos for r in smtp_sink.received] == [("bob@example.com",)]
