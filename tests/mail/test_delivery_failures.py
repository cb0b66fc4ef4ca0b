"""What agents see of conversation email: a permanent failure becomes a note on the conversation and a
"not delivered" mark on the agent's reply; a sent reply is marked "emailed"; a transient failure shows
nothing until it is settled. Real SMTP (the sink), the real worker, both databases."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.auth.roles import Role
from kefu.conversations.actions import do_add_message
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.jobs.enqueue import enqueue
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import HandlerRegistry, JobContext, JobHandler, PermanentJobError
from kefu.jobs.worker import Worker
from kefu.mail.inbound.dns import StaticResolver
from kefu.mail.ingest import bind_ingest
from kefu.mail.jobs import mail_handlers
from kefu.mail.outbox import MAIL_SEND, MailJob, dedupe_key_for, message_id_for, queue_email
from kefu.mail.replies import MAIL_REPLY, bind_reply
from kefu.mail.sender import MailSender, record_delivery_failure
from kefu.mail.transport import MailTransport
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.mail.conftest import run_all, smtp_transport
from tests.mail.ingest_helpers import ALICE, deliver, email, make_email_inbox
from tests.mail.sink import SmtpSink, closed_port
from tests.web.pages.conftest import sign_in

REFUSAL = "550 5.1.1 <alice@example.com>: mailbox unavailable"


@pytest.fixture
def ingest(runtime: Runtime) -> JobHandler:
    return bind_ingest(runtime.settings, runtime.blobs, StaticResolver())


def worker(runtime: Runtime, transport: MailTransport) -> Worker:
    """The outbox worker with the mail handlers this feature involves (send and agent replies)."""
    handlers = mail_handlers(runtime.settings, transport) | {MAIL_REPLY: bind_reply(runtime.settings)}
    return Worker(runtime.sessionmaker, HandlerRegistry(handlers), rng=random.Random(7))


async def open_email_conversation(runtime: Runtime, ingest: JobHandler, sink: SmtpSink) -> uuid.UUID:
    """Alice's email opens a conversation and its acknowledgement is delivered; the conversation id."""
    await make_email_inbox(runtime)
    row = await deliver(runtime, email(), ingest)
    assert row.conversation_id is not None
    await run_all(worker(runtime, smtp_transport(sink.port)))
    assert [r.rcpt_tos for r in sink.received] == [(ALICE,)]
    return row.conversation_id


async def agent_replies(
    runtime: Runtime, conversation_id: uuid.UUID, body: str = "It is credited now."
) -> Message:
    agent = await make_agent(runtime.sessionmaker, f"li-{uuid.uuid4().hex[:6]}@kefu.example.com")
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message, _created = await do_add_message(
            session, agent.actor, conversation, NewMessage(body=body), channel=ChannelKind.API
        )
    return message


async def timeline(runtime: Runtime, conversation_id: uuid.UUID) -> list[Message]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        return list(rows)


async def delivery_notes(runtime: Runtime, conversation_id: uuid.UUID) -> list[Message]:
    return [
        m
        for m in await timeline(runtime, conversation_id)
        if m.kind == MessageKind.NOTE and "email_delivery" in m.data
    ]


async def send_jobs(runtime: Runtime, template: str) -> list[OutboxJob]:
    async with runtime.sessionmaker() as session:
        jobs = await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        return [job for job in jobs if job.payload["template"] == template]


async def reply_message(runtime: Runtime, message_id: uuid.UUID) -> Message:
    async with runtime.sessionmaker() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def console_timeline(client: httpx.AsyncClient, runtime: Runtime, conversation_id: uuid.UUID) -> str:
    """The conversation's timeline as a supervisor's console shows it."""
    await make_agent(runtime.sessionmaker, "boss@kefu.example.com", role=Role.SUPERVISOR)
    await sign_in(client, "boss@kefu.example.com")
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
    page = await client.get(f"/console/conversations/{conversation.reference}?fragment=timeline")
    assert page.status_code == 200, page.text
    return page.text


async def test_a_refused_reply_becomes_a_note_and_marks_the_reply(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        reply = await agent_replies(runtime, conversation_id)
        sink.refuse_recipient(ALICE, REFUSAL)
        await run_all(worker(runtime, smtp_transport(sink.port)))
        assert len(sink.received) == 1  # only the acknowledgement ever arrived
    [job] = await send_jobs(runtime, "agent_reply")
    assert job.status == JobStatus.DEAD
    assert job.last_error is not None
    assert "550 5.1.1" in job.last_error
    expected_id = message_id_for(f"reply:{reply.id}", runtime.settings)

    [note] = await delivery_notes(runtime, conversation_id)
    assert note.author_kind == AuthorKind.SYSTEM
    assert note.kind == MessageKind.NOTE
    facts = note.data["email_delivery"]
    assert set(facts) == {"status", "template", "to", "reason", "message_id"}
    assert (facts["status"], facts["template"], facts["to"]) == ("failed", "agent_reply", ALICE)
    assert facts["message_id"] == expected_id
    assert "550 5.1.1" in facts["reason"]
    assert ALICE in note.body
    assert "could not be delivered" in note.body

    marked = (await reply_message(runtime, reply.id)).data["email_delivery"]
    assert marked["status"] == "failed"
    assert marked["message_id"] == expected_id
    assert "550 5.1.1" in marked["reason"]
    # The note is internal: it never becomes an email of its own.
    assert len(await send_jobs(runtime, "agent_reply")) == 1

    html = await console_timeline(client, runtime, conversation_id)
    assert html.count("Email not delivered") == 2  # on the reply and on the note
    assert 'class="badge danger" title="refused: recipient refused: 550 5.1.1' in unescape(html)


async def test_a_sent_reply_is_marked_emailed(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        reply = await agent_replies(runtime, conversation_id)
        await run_all(worker(runtime, smtp_transport(sink.port)))
        received = sink.received
    assert len(received) == 2
    sent_id = str(received[1].message()["Message-ID"])
    marked = (await reply_message(runtime, reply.id)).data["email_delivery"]
    assert marked == {"status": "sent", "message_id": sent_id, "sent_at": clock.now().isoformat()}
    [job] = await send_jobs(runtime, "agent_reply")
    assert job.status == JobStatus.DONE
    assert await delivery_notes(runtime, conversation_id) == []
    html = await console_timeline(client, runtime, conversation_id)
    assert "Emailed" in html
    assert "Email not delivered" not in html


async def test_a_relay_that_is_down_surfaces_nothing_until_the_reply_is_sent(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        reply = await agent_replies(runtime, conversation_id)
        sock, port = closed_port()
        with sock:
            await run_all(worker(runtime, smtp_transport(port)))
        [job] = await send_jobs(runtime, "agent_reply")
        assert (job.status, job.attempts) == (JobStatus.PENDING, 1)
        assert await delivery_notes(runtime, conversation_id) == []
        assert "email_delivery" not in (await reply_message(runtime, reply.id)).data

        # A 4xx is transient too.
        clock.advance(timedelta(hours=2))
        sink.refuse_recipient(ALICE, "451 4.3.0 try again later")
        await run_all(worker(runtime, smtp_transport(sink.port)))
        [job] = await send_jobs(runtime, "agent_reply")
        assert (job.status, job.attempts) == (JobStatus.PENDING, 2)
        assert await delivery_notes(runtime, conversation_id) == []

    with SmtpSink() as relay:  # the relay is back
        clock.advance(timedelta(hours=2))
        await run_all(worker(runtime, smtp_transport(relay.port)))
        await run_all(worker(runtime, smtp_transport(relay.port)))
        assert len(relay.received) == 1  # exactly once
    assert (await reply_message(runtime, reply.id)).data["email_delivery"]["status"] == "sent"
    assert await delivery_notes(runtime, conversation_id) == []


async def test_a_refused_acknowledgement_is_noted_without_marking_any_message(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    await make_email_inbox(runtime)
    row = await deliver(runtime, email(), ingest)
    assert row.conversation_id is not None
    with SmtpSink() as sink:
        sink.refuse_data("554 5.7.1 message rejected as spam")
        await run_all(worker(runtime, smtp_transport(sink.port)))
    [note] = await delivery_notes(runtime, row.conversation_id)
    assert note.data["email_delivery"]["template"] == "request_received"
    assert "554 5.7.1" in note.data["email_delivery"]["reason"]
    others = [m for m in await timeline(runtime, row.conversation_id) if m.id != note.id]
    assert all("email_delivery" not in m.data for m in others)


async def test_a_failure_is_noted_once_however_often_the_job_reruns(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        reply = await agent_replies(runtime, conversation_id)
        sock, port = closed_port()
        with sock:
            await run_all(worker(runtime, smtp_transport(port)))  # queues the email; the relay is down
        sink.refuse_recipient(ALICE, REFUSAL)
        [job] = await send_jobs(runtime, "agent_reply")
        sender = MailSender(runtime.settings, smtp_transport(sink.port))
        # A worker that died after noting the failure, before the job was marked dead: it runs again.
        for attempt in (2, 3):
            async with runtime.sessionmaker() as session:
                context = JobContext(session, job.id, MAIL_SEND, attempt, job.dedupe_key or "")
                with pytest.raises(PermanentJobError, match="550"):
                    await sender.handle(context, dict(job.payload))
    assert len(await delivery_notes(runtime, conversation_id)) == 1
    assert (await reply_message(runtime, reply.id)).data["email_delivery"]["status"] == "failed"


async def test_the_note_goes_where_agents_work_after_a_merge(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        reply = await agent_replies(runtime, conversation_id)
        other = await deliver(runtime, email("Another matter", sender="bob@example.com"), ingest)
        assert other.conversation_id is not None
        async with transaction(runtime.sessionmaker) as session:
            merged = await session.get(Conversation, conversation_id)
            assert merged is not None
            merged.merged_into_id = other.conversation_id
        sink.refuse_recipient(ALICE, REFUSAL)
        await run_all(worker(runtime, smtp_transport(sink.port)))
    assert await delivery_notes(runtime, conversation_id) == []
    [note] = await delivery_notes(runtime, other.conversation_id)
    assert note.data["email_delivery"]["to"] == ALICE
    assert (await reply_message(runtime, reply.id)).data["email_delivery"]["status"] == "failed"


async def test_email_outside_conversations_surfaces_nowhere(runtime: Runtime, clock: FrozenClock) -> None:
    async with transaction(runtime.sessionmaker) as session:
        await queue_email(
            session,
            template="customer_sign_in",
            to=ALICE,
            locale="en",
            context={"code": "123456", "link": "https://kefu.test/hc/en/requests/sign-in?t=x", "minutes": 15},
            idempotency_key="sign-in:1",
        )
        # A reference no conversation has (deleted since, or a forged payload).
        await queue_email(
            session,
            template="request_received",
            to=ALICE,
            locale="en",
            context={
                "reference": "KF-00000000",
                "subject": "Hello",
                "first_response_due": None,
                "requests_url": "https://kefu.test/hc/en/requests",
            },
            idempotency_key="ack:KF-00000000",
            reference="KF-00000000",
        )
    with SmtpSink() as sink:
        sink.refuse_recipient(ALICE, REFUSAL)
        await run_all(worker(runtime, smtp_transport(sink.port)))
    async with runtime.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
        notes = list(await session.scalars(select(Message)))
    assert [job.status for job in jobs] == [JobStatus.DEAD, JobStatus.DEAD]
    assert notes == []


async def test_an_email_that_cannot_be_composed_is_noted_with_the_reason(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        async with runtime.sessionmaker() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            reference = conversation.reference
        # Queued by an older release whose template took other context keys.
        payload: dict[str, Any] = MailJob(
            template="request_received",
            to=ALICE,
            locale="en",
            context={"reference": reference, "gone": "x"},
            idempotency_key="old-release",
            reference=reference,
            queued_at=clock.now(),
        ).model_dump(mode="json")
        async with transaction(runtime.sessionmaker) as session:
            await enqueue(session, MAIL_SEND, payload, dedupe_key=dedupe_key_for("old-release"))
        await run_all(worker(runtime, smtp_transport(sink.port)))
        assert len(sink.received) == 1
    [note] = await delivery_notes(runtime, conversation_id)
    assert note.data["email_delivery"]["reason"].startswith("cannot compose the request_received email")


async def test_hostile_reasons_are_one_short_line(
    runtime: Runtime, ingest: JobHandler, clock: FrozenClock
) -> None:
    with SmtpSink() as sink:
        conversation_id = await open_email_conversation(runtime, ingest, sink)
        async with runtime.sessionmaker() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            reference = conversation.reference
    job = MailJob(
        template="request_received",
        to=ALICE,
        locale="en",
        context={},
        idempotency_key="k",
        reference=reference,
        queued_at=clock.now(),
    )
    async with runtime.sessionmaker() as session:
        noted = await record_delivery_failure(
            session,
            job,
            "<x@kefu.test>",
            "refused: <script>alert(1)</script>\r\nX-Evil: 1\u2028" + "a" * 5000,
        )
    assert noted
    [note] = await delivery_notes(runtime, conversation_id)
    reason = note.data["email_delivery"]["reason"]
    assert len(reason) <= 300
    assert "\r" not in reason
    assert "\n" not in reason
    assert "\u2028" not in reason
