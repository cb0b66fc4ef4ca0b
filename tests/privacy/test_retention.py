"""Retention: closed conversations lose their attachments, then their personal data, N days after
closing; open ones are untouched, shared blobs stay, each purge is audited once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.contacts.models import Contact, ContactIdentity
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.jobs.registry import JobContext
from kefu.privacy.jobs import PERIODIC, RETENTION_JOB
from kefu.privacy.models import ConversationPurge
from kefu.privacy.retention import (
    RetentionPolicy,
    purge_expired_attachments,
    purge_expired_personal_data,
    run_retention,
)
from kefu.privacy.scrub import REMOVED
from kefu.ratings.models import SatisfactionRating
from kefu.recovery.models import RecoveryCase, RecoveryStatus
from kefu.registry import bind_job_handlers, load_job_modules
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.factories import make_agent
from tests.privacy.helpers import blob_keys, close, seed_person
from tests.recovery.helpers import submit_case


async def _audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def _attachment_count(runtime: Runtime, conversation_id: uuid.UUID) -> int:
    async with runtime.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.conversation_id == conversation_id)
        )
        return int(count or 0)


async def test_attachments_of_old_closed_conversations_go_shared_blobs_stay(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    old = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    shared_bytes = b"the same screenshot text sent twice"
    still_open = await seed_person(
        client,
        runtime,
        staff,
        slug="bob",
        phone="+8613800138002",
        closed_days_ago=None,
        file_bytes=shared_bytes,
    )
    old_shared = await seed_person(
        client, runtime, staff, slug="carol", phone="+8613800138003", file_bytes=shared_bytes
    )
    recent = await seed_person(client, runtime, staff, slug="dave", phone="+8613800138004", closed_days_ago=5)
    [old_key] = await blob_keys(runtime, old.conversation_id)
    [shared_key] = await blob_keys(runtime, old_shared.conversation_id)
    assert shared_key in await blob_keys(runtime, still_open.conversation_id)

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_attachments(session, runtime.blobs, days=30) == 2

    assert not await runtime.blobs.exists(old_key)
    assert await runtime.blobs.exists(shared_key)  # bob's open conversation still has it
    assert await _attachment_count(runtime, old.conversation_id) == 0
    assert await _attachment_count(runtime, old_shared.conversation_id) == 0
    assert await _attachment_count(runtime, still_open.conversation_id) == 1
    assert await _attachment_count(runtime, recent.conversation_id) == 1
    events = await _audits(runtime, "privacy.attachments_purged")
    assert sorted(e.target_id or "" for e in events) == sorted(
        [str(old.conversation_id), str(old_shared.conversation_id)]
    )
    for event in events:
        assert event.details["attachments"] == 1
        assert len(event.details["attachment_ids"]) == 1
        assert event.actor_type == "system"
    old_event = next(e for e in events if e.target_id == str(old.conversation_id))
    assert old_event.details["blobs"] == 1
    async with runtime.sessionmaker() as session:
        mark = await session.get(ConversationPurge, old.conversation_id)
        assert mark is not None
        assert mark.attachments_purged_at is not None
        assert mark.personal_data_purged_at is None
        # The personal data is still there: only the files went.
        conversation = await session.get(Conversation, old.conversation_id)
        assert conversation is not None
        assert conversation.subject

    # Idempotent: nothing left to purge, nothing audited again.
    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_attachments(session, runtime.blobs, days=30) == 0
    assert len(await _audits(runtime, "privacy.attachments_purged")) == 2


async def test_personal_data_is_scrubbed_and_the_contact_anonymised(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    old = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    still_open = await seed_person(
        client, runtime, staff, slug="bob", phone="+8613800138002", closed_days_ago=None
    )
    [old_key] = await blob_keys(runtime, old.conversation_id)

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_personal_data(session, runtime.blobs, days=30) == (1, 1)

    assert not await runtime.blobs.exists(old_key)
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, old.conversation_id)
        assert conversation is not None
        assert conversation.subject == ""
        assert conversation.form_fields == {"order_id": REMOVED}
        assert conversation.reference == old.reference  # the skeleton stays
        messages = list(
            await session.scalars(
                select(Message).where(Message.conversation_id == old.conversation_id).order_by(Message.seq)
            )
        )
        customer = [m for m in messages if m.author_kind == AuthorKind.CUSTOMER]
        assert customer
        assert all(m.body == REMOVED for m in customer)
        reply = next(m for m in messages if m.author_kind == AuthorKind.AGENT and m.kind == MessageKind.REPLY)
        assert reply.body == f"Hello {REMOVED}, we are checking your deposit."
        note = next(m for m in messages if m.kind == MessageKind.NOTE)
        assert note.body == f"Customer {REMOVED} called from {REMOVED}, VIP"
        rating = await session.get(SatisfactionRating, old.conversation_id)
        assert rating is not None
        assert (rating.score, rating.comment) == (2, "")
        contact = await session.get(Contact, old.contact_id)
        assert contact is not None
        assert contact.name == ""
        identities = await session.scalar(
            select(func.count())
            .select_from(ContactIdentity)
            .where(ContactIdentity.contact_id == old.contact_id)
        )
        assert identities == 0
        # Bob's open conversation is untouched.
        open_conversation = await session.get(Conversation, still_open.conversation_id)
        assert open_conversation is not None
        assert open_conversation.subject.startswith("Deposit missing")
        bob = await session.get(Contact, still_open.contact_id)
        assert bob is not None
        assert bob.name == still_open.name
    assert await _attachment_count(runtime, still_open.conversation_id) == 1
    [event] = await _audits(runtime, "privacy.personal_data_purged")
    assert event.target_id == str(old.conversation_id)
    assert event.details["attachments"] == 1
    assert event.details["messages"] >= 1
    [anonymised] = await _audits(runtime, "privacy.contact_anonymised")
    assert anonymised.target_id == str(old.contact_id)
    assert anonymised.details == {"identities": 2}
    for audit in (event, anonymised):
        text = repr(audit.details)
        assert all(secret not in text for secret in old.secrets)

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_personal_data(session, runtime.blobs, days=30) == (0, 0)
    assert len(await _audits(runtime, "privacy.personal_data_purged")) == 1


async def test_a_contact_with_a_retained_conversation_keeps_its_identities(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    old = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    follow_up = await client.post(
        "/api/v1/conversations", json={"subject": "Another one", "body": "Still waiting"}, headers=old.headers
    )
    assert follow_up.status_code == 201, follow_up.text

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_personal_data(session, runtime.blobs, days=30) == (1, 0)
    async with runtime.sessionmaker() as session:
        contact = await session.get(Contact, old.contact_id)
        assert contact is not None
        assert contact.name == old.name
        assert len(contact.identities) == 2


async def test_the_periodic_job_follows_the_settings(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert RETENTION_JOB in {task.name for task in PERIODIC}
    assert RETENTION_JOB in {task.name for task in load_job_modules()[1]}
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    old = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    [key] = await blob_keys(runtime, old.conversation_id)
    handler = bind_job_handlers(runtime)[RETENTION_JOB]

    # Keep forever by default: the job does nothing.
    async with transaction(runtime.sessionmaker) as session:
        await handler(JobContext(session, uuid.uuid4(), RETENTION_JOB, 1, "k"), {})
    assert await runtime.blobs.exists(key)
    async with transaction(runtime.sessionmaker) as session:
        assert await run_retention(session, runtime.blobs, RetentionPolicy.of(0, None, 10)) == (
            await run_retention(session, runtime.blobs, RetentionPolicy(None, None))
        )

    runtime.settings.retention_attachment_days = 30
    async with transaction(runtime.sessionmaker) as session:
        await handler(JobContext(session, uuid.uuid4(), RETENTION_JOB, 1, "k"), {})
    assert not await runtime.blobs.exists(key)
    assert len(await _audits(runtime, "privacy.attachments_purged")) == 1
    assert await _audits(runtime, "privacy.personal_data_purged") == []


async def test_identity_documents_are_left_to_the_recovery_purge(runtime: Runtime) -> None:
    case = await submit_case(runtime, keyring_from_settings(runtime.settings))
    async with transaction(runtime.sessionmaker) as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        conversation = await session.get(Conversation, case.conversation_id)
        assert recovery is not None
        assert conversation is not None
        recovery.status = RecoveryStatus.REJECTED
        recovery.decided_at = utcnow() - timedelta(days=40)
        await close(session, conversation, utcnow() - timedelta(days=40))
    keys = await blob_keys(runtime, case.conversation_id)
    assert len(keys) == 3

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_attachments(session, runtime.blobs, days=30) == 0
        assert await purge_expired_personal_data(session, runtime.blobs, days=30) == (1, 1)
    for key in keys:
        assert await runtime.blobs.exists(key)
    assert await _attachment_count(runtime, case.conversation_id) == 3
    async with runtime.sessionmaker() as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        assert recovery is not None
        assert (recovery.email, recovery.description) == ("", "")
        assert recovery.status == RecoveryStatus.REJECTED


async def test_an_open_recovery_case_holds_its_conversation(runtime: Runtime) -> None:
    case = await submit_case(runtime, keyring_from_settings(runtime.settings))
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, case.conversation_id)
        assert conversation is not None
        await close(session, conversation, utcnow() - timedelta(days=40))
    async with transaction(runtime.sessionmaker) as session:
        assert await purge_expired_personal_data(session, runtime.blobs, days=30) == (0, 0)
