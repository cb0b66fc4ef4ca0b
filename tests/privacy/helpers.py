"""Privacy test helpers: a customer with a closed conversation built through the real API and actions."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.actions import do_add_identity
from kefu.contacts.models import Contact, IdentityKind
from kefu.conversations.models import Attachment, Conversation
from kefu.conversations.states import Status
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.ratings.actions import do_rate
from kefu.runtime import Runtime
from tests.factories import StaffMember, make_customer


@dataclass(frozen=True)
class Person:
    """A customer and the personal data they gave, to look for after a purge or an erasure."""

    contact_id: uuid.UUID
    email: str
    phone: str
    name: str
    body: str
    file_bytes: bytes
    conversation_id: uuid.UUID
    reference: str
    headers: dict[str, str]

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value that must be gone: identities, name, message text and file content."""
        return (self.email, self.phone, self.name, self.body, self.file_bytes.decode())


async def seed_person(
    client: httpx.AsyncClient,
    runtime: Runtime,
    staff: StaffMember,
    *,
    slug: str,
    phone: str,
    closed_days_ago: int | None = 40,
    file_bytes: bytes | None = None,
) -> Person:
    """A customer who opened a request with a form field and a file, got a reply and a note mentioning
    them, rated it, and (unless `closed_days_ago` is None) had it closed that many days ago."""
    email = f"{slug}.trader@example.com"
    name = f"{slug.title()} Zhangwei"
    body = f"My deposit {slug}-8841 never arrived, please help"
    data = file_bytes or f"bank statement of {slug} 99172".encode()
    customer = await make_customer(runtime.sessionmaker, runtime.settings, email)
    payload = {
        "subject": f"Deposit missing for {name}",
        "body": body,
    }
    created = await client.post(
        "/api/v1/conversations",
        data={"payload": json.dumps(payload)},
        files={"files": ("statement.txt", data, "text/plain")},
        headers=customer.headers,
    )
    assert created.status_code == 201, created.text
    conversation_id = uuid.UUID(created.json()["id"])
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": f"Hello {name}, we are checking your deposit."},
        headers=staff.headers,
    )
    assert reply.status_code == 201, reply.text
    note = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": f"Customer {email} called from {phone}, VIP", "kind": "note"},
        headers=staff.headers,
    )
    assert note.status_code == 201, note.text
    async with transaction(runtime.sessionmaker) as session:
        await do_add_identity(session, customer.contact_id, IdentityKind.PHONE, phone)
        contact = await session.get(Contact, customer.contact_id)
        assert contact is not None
        contact.name = name
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        # Admin-defined form fields are not configured here; the value is what a form would store.
        conversation.form_fields = {"order_id": f"ORD-{slug}-55"}
        reference = conversation.reference
        if closed_days_ago is not None:
            await close(session, conversation, utcnow() - timedelta(days=closed_days_ago))
            await do_rate(session, conversation, 2, f"{name} was not helped quickly")
    return Person(
        contact_id=customer.contact_id,
        email=email,
        phone=phone,
        name=name,
        body=body,
        file_bytes=data,
        conversation_id=conversation_id,
        reference=reference,
        headers=customer.headers,
    )


async def close(session: AsyncSession, conversation: Conversation, at: datetime) -> None:
    """Close a conversation as if it happened at `at`."""
    conversation.status = Status.CLOSED
    conversation.solved_at = at
    conversation.closed_at = at
    await session.flush()


async def blob_keys(runtime: Runtime, conversation_id: uuid.UUID) -> list[str]:
    """The blob keys of a conversation's attachments."""
    async with runtime.sessionmaker() as session:
        return list(
            await session.scalars(
                select(Attachment.blob_key).where(Attachment.conversation_id == conversation_id)
            )
        )
