"""Agents read the original of an email and decide about held replies; others get 404/401/403."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from kefu.auth.roles import Role
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.db.uow import transaction
from kefu.inboxes.models import Inbox
from kefu.jobs.registry import JobHandler
from kefu.mail.inbound.dns import StaticResolver
from kefu.mail.ingest import bind_ingest
from kefu.mail.models import InboundEmail, InboundStatus
from kefu.runtime import Runtime
from tests.factories import make_agent, make_customer
from tests.mail.ingest_helpers import deliver, email, make_email_inbox

MALLORY = "mallory@evil.example"


@pytest.fixture
async def mailbox(runtime: Runtime) -> Inbox:
    return await make_email_inbox(runtime)


@pytest.fixture
def ingest(runtime: Runtime) -> JobHandler:
    return bind_ingest(runtime.settings, runtime.blobs, StaticResolver())


async def held_reply(runtime: Runtime, ingest_handler: JobHandler) -> tuple[InboundEmail, InboundEmail]:
    first = await deliver(runtime, email(), ingest_handler)
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None
        reference = conversation.reference
    held = await deliver(
        runtime, email(f"Re: [{reference}]", "pay me instead", sender=MALLORY), ingest_handler
    )
    assert held.status == InboundStatus.HELD
    return first, held


async def test_agents_download_the_original_and_strangers_cannot(
    client: httpx.AsyncClient,
    runtime: Runtime,
    mailbox: Inbox,
    ingest: JobHandler,
) -> None:
    raw = email()
    row = await deliver(runtime, raw, ingest)
    admin = await make_agent(runtime.sessionmaker, "boss@kefu.example.com", role=Role.ADMIN)
    response = await client.get(
        f"/api/v1/inbound-emails/{row.id}/raw", headers={"authorization": f"Bearer {admin.token}"}
    )
    assert response.status_code == 200
    assert response.content == raw
    assert response.headers["content-type"].startswith("message/rfc822")
    assert response.headers["content-disposition"].startswith("attachment;")
    customer = await make_customer(runtime.sessionmaker, runtime.settings, "alice@example.com")
    as_customer = await client.get(
        f"/api/v1/inbound-emails/{row.id}/raw", headers={"authorization": f"Bearer {customer.token}"}
    )
    assert as_customer.status_code == 403
    assert (await client.get(f"/api/v1/inbound-emails/{row.id}/raw")).status_code == 401
    missing = await client.get(
        "/api/v1/inbound-emails/00000000-0000-0000-0000-000000000000/raw",
        headers={"authorization": f"Bearer {admin.token}"},
    )
    assert missing.status_code == 404
    malformed = await client.get(
        "/api/v1/inbound-emails/not-a-uuid/raw", headers={"authorization": f"Bearer {admin.token}"}
    )
    assert malformed.status_code == 422


async def test_a_held_reply_becomes_a_note_once(
    client: httpx.AsyncClient,
    runtime: Runtime,
    mailbox: Inbox,
    ingest: JobHandler,
) -> None:
    first, held = await held_reply(runtime, ingest)
    admin = await make_agent(runtime.sessionmaker, "boss@kefu.example.com", role=Role.ADMIN)
    auth = {"authorization": f"Bearer {admin.token}"}
    url = f"/api/v1/inbound-emails/{held.id}/release"
    bad = await client.post(url, json={"release_as": "publish"}, headers=auth)
    assert bad.status_code == 422
    response = await client.post(url, json={"release_as": "note"}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(first.conversation_id)
    again = await client.post(url, json={"release_as": "note"}, headers=auth)
    assert again.status_code == 409
    async with transaction(runtime.sessionmaker) as session:
        notes = list(
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == first.conversation_id, Message.kind == MessageKind.NOTE
                )
            )
        )
    assert any(m.body == "pay me instead" and m.data["email"]["from"] == MALLORY for m in notes)


async def test_a_held_reply_can_open_its_own_conversation(
    client: httpx.AsyncClient,
    runtime: Runtime,
    mailbox: Inbox,
    ingest: JobHandler,
) -> None:
    first, held = await held_reply(runtime, ingest)
    admin = await make_agent(runtime.sessionmaker, "boss@kefu.example.com", role=Role.ADMIN)
    response = await client.post(
        f"/api/v1/inbound-emails/{held.id}/release",
        json={"release_as": "new_conversation"},
        headers={"authorization": f"Bearer {admin.token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] != str(first.conversation_id)
    async with transaction(runtime.sessionmaker) as session:
        row = await session.get(InboundEmail, held.id)
        assert row is not None
        assert row.status == InboundStatus.INGESTED
        assert str(row.conversation_id) == response.json()["id"]
