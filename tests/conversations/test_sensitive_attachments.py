"""Identity documents: only KYC reviewers read them, and every read or refusal is audited."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.models import Conversation, Message
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.storage.uploads import store_upload
from tests.conftest import Database
from tests.conversations.test_access import PNG_1PX
from tests.factories import make_agent, make_customer, open_conversation


async def _attach_identity_document(db: Database, runtime: Runtime, conversation_id: str) -> str:
    stored = await store_upload(runtime.blobs, PNG_1PX, "passport.png", max_bytes=10_000, max_pixels=10_000)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, uuid.UUID(conversation_id))
        assert conversation is not None
        message = await session.scalar(select(Message).where(Message.conversation_id == conversation.id))
        assert message is not None
        [attachment] = await do_attach_files(session, conversation, message, [stored], sensitive=True)
        return str(attachment.id)


async def _audit(db: Database, action: str, target: str) -> list[AuditEvent]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == target)
        )
        return list(rows)


async def test_only_reviewers_read_identity_documents_and_all_reads_are_audited(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    customer = await make_customer(db.sessionmaker, runtime.settings, "kyc@example.com")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    supervisor = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    reviewer = await make_agent(db.sessionmaker, "review@kefu.test", role=Role.KYC_REVIEWER)
    conv = await open_conversation(client, customer, category="kyc")
    attachment_id = await _attach_identity_document(db, runtime, str(conv["id"]))
    url = f"/api/v1/attachments/{attachment_id}"

    ok = await client.get(url, headers=reviewer.headers)
    assert ok.status_code == 303  # to the watermarked viewer: the stored bytes are sealed
    assert ok.headers["location"] == f"/console/recovery/documents/{attachment_id}"
    [read] = await _audit(db, "attachment.sensitive_read", attachment_id)
    assert read.actor_id == reviewer.id

    for who in (agent, supervisor, customer):
        denied = await client.get(url, headers=who.headers)
        assert denied.status_code == 404
    denials = await _audit(db, "access.denied", attachment_id)
    assert len(denials) == 3  # recorded although each request rolled back

    # The customer's own timeline does not even list the document; staff see it listed.
    mine = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=customer.headers)
    assert all(not m["attachments"] for m in mine.json()["items"])
    staff = await client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=agent.headers)
    assert any(m["attachments"] for m in staff.json()["items"])
