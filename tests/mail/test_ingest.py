"""Inbound mail from storage to conversation: new threads, replies by each threading rule, held replies,
bounces, auto-replies, attachments, phishing in our name, garbage, idempotency. Both databases."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.states import MessageKind, Status
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext, JobHandler
from kefu.mail.inbound.dns import StaticResolver
from kefu.mail.ingest import bind_ingest
from kefu.mail.models import EmailThreadId, InboundSource, InboundStatus, ThreadDirection
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.receive import MAIL_INGEST, Envelope, accept_inbound
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.mail.ingest_helpers import ALICE, SUPPORT, deliver, email, make_email_inbox, run_ingest_jobs


@pytest.fixture
async def mailbox(runtime: Runtime) -> Inbox:
    return await make_email_inbox(runtime)


@pytest.fixture
def ingest(runtime: Runtime) -> JobHandler:
    return bind_ingest(runtime.settings, runtime.blobs, StaticResolver())


async def acknowledgements(runtime: Runtime) -> list[dict[str, Any]]:
    async with transaction(runtime.sessionmaker) as session:
        jobs = await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        return [j.payload for j in jobs if j.payload["template"] == "request_received"]


async def messages_of(runtime: Runtime, conversation_id: object) -> list[Message]:
    async with transaction(runtime.sessionmaker) as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        return list(rows)


async def test_a_new_email_opens_a_conversation_and_is_acknowledged(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    raw = email()
    row = await deliver(runtime, raw, ingest)
    assert row.status == InboundStatus.INGESTED
    assert row.from_address == ALICE
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, row.conversation_id)
        assert conversation is not None
        assert conversation.channel == ChannelKind.EMAIL
        assert conversation.inbox_id == mailbox.id
        assert conversation.team_id == mailbox.team_id
        assert conversation.subject == "Deposit not credited"
        threads = {t.direction: t for t in await session.scalars(select(EmailThreadId))}
    first = (await messages_of(runtime, row.conversation_id))[0]
    assert first.body == "My USDT deposit has not arrived."
    assert first.data["email"]["from"] == ALICE
    assert first.data["email"]["verdict"]["phishing"] is False
    sent = await acknowledgements(runtime)
    assert len(sent) == 1
    assert sent[0]["to"] == ALICE
    assert sent[0]["in_reply_to"] == row.message_id_header
    assert set(threads) == {ThreadDirection.IN, ThreadDirection.OUT}


async def test_replies_thread_by_message_id_plus_address_and_subject(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    first = await deliver(runtime, email(), ingest)
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        reference = conversation.reference
        ours = await session.scalar(
            select(EmailThreadId.message_id).where(EmailThreadId.direction == ThreadDirection.OUT)
        )
    by_id = email("Re: anything", "reply one", headers={"In-Reply-To": str(ours), "References": str(ours)})
    by_plus = email("no reference here", "reply two", to=f"support+{reference}@kefu.test")
    by_subject = email(f"Re: [{reference}] Deposit", "reply three")
    for raw in (by_id, by_plus, by_subject):
        row = await deliver(runtime, raw, ingest)
        assert row.status == InboundStatus.INGESTED
        assert row.conversation_id == first.conversation_id
    bodies = [
        m.body for m in await messages_of(runtime, first.conversation_id) if m.kind == MessageKind.REPLY
    ]
    assert bodies[-3:] == ["reply one", "reply two", "reply three"]
    assert len(await acknowledgements(runtime)) == 1  # replies are not acknowledged again


async def test_a_reply_from_someone_else_is_held_not_added(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    first = await deliver(runtime, email(), ingest)
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        reference = conversation.reference
    row = await deliver(
        runtime, email(f"Re: [{reference}]", "send funds to me", sender="mallory@evil.example"), ingest
    )
    assert row.status == InboundStatus.HELD
    assert row.conversation_id == first.conversation_id
    timeline = await messages_of(runtime, first.conversation_id)
    assert all("send funds to me" not in m.body for m in timeline)
    notes = [m for m in timeline if m.kind == MessageKind.NOTE]
    assert notes
    assert notes[-1].data["held_email"]["from"] == "mallory@evil.example"


async def test_mail_to_a_closed_conversation_starts_a_follow_up(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    first = await deliver(runtime, email(), ingest)
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        conversation.status = Status.CLOSED
        reference = conversation.reference
    row = await deliver(runtime, email(f"Re: [{reference}]", "still broken"), ingest)
    assert row.status == InboundStatus.INGESTED
    assert row.conversation_id != first.conversation_id


async def test_auto_replies_and_bounces_are_kept_but_never_answered(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    first = await deliver(runtime, email(), ingest)
    async with transaction(runtime.sessionmaker) as session:
        ours = await session.scalar(
            select(EmailThreadId.message_id).where(EmailThreadId.direction == ThreadDirection.OUT)
        )
    away = await deliver(
        runtime, email("Out of office", "I am away", headers={"Auto-Submitted": "auto-replied"}), ingest
    )
    assert away.status == InboundStatus.IGNORED
    assert away.reason == "auto_reply"

    dsn = (
        "From: MAILER-DAEMON@mx.example.com\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n\r\n'
        "--BOUND\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--BOUND\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {ALICE}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--BOUND\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {ours}\r\nSubject: We received your request\r\n\r\n"
        "--BOUND--\r\n"
    ).encode()
    bounce = await deliver(runtime, dsn, ingest)
    assert bounce.status == InboundStatus.IGNORED
    assert bounce.reason == "bounce"
    assert bounce.conversation_id == first.conversation_id
    assert len(await acknowledgements(runtime)) == 1
    notes = [m for m in await messages_of(runtime, first.conversation_id) if m.kind == MessageKind.NOTE]
    assert any(m.data.get("email_delivery", {}).get("code") == "5.1.1" for m in notes)


async def test_attachments_go_through_the_file_pipeline(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    message = EmailMessage()
    message["From"] = ALICE
    message["To"] = SUPPORT
    message["Subject"] = "Screenshot of the error"
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("See the screenshot.")
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(png, format="PNG")
    message.add_attachment(png.getvalue(), maintype="image", subtype="png", filename="../../error.png")
    message.add_attachment(
        b"MZ\x90\x00binary", maintype="application", subtype="octet-stream", filename="run.exe"
    )
    row = await deliver(runtime, bytes(message), ingest)
    assert row.status == InboundStatus.INGESTED
    first = (await messages_of(runtime, row.conversation_id))[0]
    assert [a.filename for a in first.attachments] == ["error.png"]
    assert first.data["email"]["refused_files"]


async def test_phishing_in_our_name_goes_to_security_unanswered(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    raw = email("Verify your account", "Click here", sender="support@kefu.test")
    row = await deliver(runtime, raw, ingest)
    assert row.status == InboundStatus.INGESTED
    assert row.details["verdict"]["phishing"] is True
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, row.conversation_id)
        assert conversation is not None
        security = await session.scalar(select(Team.id).where(Team.slug == "security"))
        assert conversation.team_id == security
        tags = list(
            await session.scalars(
                select(ConversationTag.tag).where(ConversationTag.conversation_id == conversation.id)
            )
        )
        assert "phishing" in tags
    assert await acknowledgements(runtime) == []


@pytest.mark.parametrize(
    "raw", [b"\r\n", b"\x00\xff" * 100, b"Subject: only a subject\r\n\r\n", b"From: <>\r\n\r\nhi"]
)
async def test_unreadable_mail_becomes_a_flagged_conversation_with_the_original(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler, raw: bytes
) -> None:
    row = await deliver(runtime, raw, ingest)
    assert row.status == InboundStatus.INGESTED
    async with transaction(runtime.sessionmaker) as session:
        tags = list(
            await session.scalars(
                select(ConversationTag.tag).where(ConversationTag.conversation_id == row.conversation_id)
            )
        )
    assert tags == ["needs-review"]
    first = (await messages_of(runtime, row.conversation_id))[0]
    assert [a.filename for a in first.attachments] == ["original.eml"]
    assert await runtime.blobs.get(first.attachments[0].blob_key) == raw
    assert await acknowledgements(runtime) == []  # nobody to write back to


async def test_storing_and_ingesting_are_idempotent(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler, db: Database
) -> None:
    raw = email()
    envelope = Envelope(mailbox=SUPPORT, source=InboundSource.IMAP)
    first, new = await accept_inbound(runtime.sessionmaker, runtime.blobs, raw, envelope)
    again, new_again = await accept_inbound(runtime.sessionmaker, runtime.blobs, raw, envelope)
    assert new
    assert not new_again
    assert again == first
    assert await run_ingest_jobs(runtime, ingest) == 1
    async with transaction(db.sessionmaker) as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.name == MAIL_INGEST))
        assert job is not None
        await ingest(JobContext(session, job.id, MAIL_INGEST, 2, job.dedupe_key or ""), dict(job.payload))
        assert len(list(await session.scalars(select(Conversation)))) == 1


async def test_an_agent_reply_is_emailed_in_thread_and_the_answer_threads_back(
    runtime: Runtime, mailbox: Inbox, ingest: JobHandler
) -> None:
    from kefu.conversations.actions import do_add_message
    from kefu.conversations.timeline import NewMessage
    from kefu.mail.replies import MAIL_REPLY, bind_reply
    from tests.factories import make_agent

    first = await deliver(runtime, email(), ingest)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.example.com")
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        await do_add_message(
            session,
            agent.actor,
            conversation,
            NewMessage(body="We found it.\nIt is credited now."),
            channel=ChannelKind.API,
        )
    reply_handler = bind_reply(runtime.settings)
    async with transaction(runtime.sessionmaker) as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.name == MAIL_REPLY))
        assert job is not None
        await reply_handler(
            JobContext(session, job.id, MAIL_REPLY, 1, job.dedupe_key or ""), dict(job.payload)
        )
        sent = [
            j.payload for j in await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        ]
    replies = [p for p in sent if p["template"] == "agent_reply"]
    assert len(replies) == 1
    assert replies[0]["to"] == ALICE
    assert replies[0]["in_reply_to"] == first.message_id_header
    assert replies[0]["context"]["body"] == "We found it.\nIt is credited now."
    async with transaction(runtime.sessionmaker) as session:
        ours = list(
            await session.scalars(
                select(EmailThreadId.message_id).where(EmailThreadId.direction == ThreadDirection.OUT)
            )
        )
    answer = await deliver(
        runtime, email("Re: whatever", "thanks!", headers={"In-Reply-To": ours[-1]}), ingest
    )
    assert answer.conversation_id == first.conversation_id
