"""Erasure: after it, nothing of the customer's email, phone, name, words or files is left in any table
or blob; other customers are untouched; legal holds refuse it; the trail holds ids and counts only."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.types import JSON

from kefu.audit.models import AuditEvent
from kefu.auth.models import CustomerSession, CustomerSignInCode
from kefu.auth.roles import Role, Scope
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind, Status
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.mail.models import InboundEmail, InboundSource, InboundStatus
from kefu.privacy.actions import ERASURE_JOB, EXPORT_JOB
from kefu.privacy.erasure import legal_holds
from kefu.privacy.models import PrivacyRequest, RequestStatus
from kefu.privacy.scrub import REMOVED
from kefu.recovery.models import RecoveryCase, RecoveryStatus
from kefu.registry import load_models
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from kefu.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import StaffMember, make_agent
from tests.privacy.helpers import Person, blob_keys, close, seed_person
from tests.privacy.jobs import run_request_job
from tests.recovery.helpers import submit_case
from tests.web.api.v1.conftest import assert_error

REASON = "Art. 17 request received by the DPO, ticket 4471"


async def _admin(runtime: Runtime) -> StaffMember:
    return await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})


async def _extras(runtime: Runtime, person: Person) -> str:
    """Data the API does not create in these tests: a sign-in code, a session, an anti-phishing code, a
    sent email's job and a held email with its raw copy. Returns the raw copy's blob key."""
    raw = f"From: {person.email}\r\nSubject: hello from {person.name}\r\n\r\nhi".encode()
    raw_key = await runtime.blobs.put(raw)
    async with transaction(runtime.sessionmaker) as session:
        contact = await session.get(Contact, person.contact_id)
        assert contact is not None
        contact.anti_phishing_code_sealed = b"sealed-code"
        contact.anti_phishing_code_set_at = utcnow()
        session.add(
            CustomerSignInCode(
                email=person.email,
                contact_id=person.contact_id,
                code_digest="a" * 64,
                link_digest=uuid.uuid4().hex * 2,
                expires_at=utcnow() + timedelta(minutes=10),
            )
        )
        session.add(
            CustomerSession(
                id=uuid.uuid4().hex * 2,
                contact_id=person.contact_id,
                email=person.email,
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        session.add(
            OutboxJob(
                name="mail.send",
                payload={"to": person.email, "context": {"name": person.name}},
                status=JobStatus.DONE,
                finished_at=utcnow(),
            )
        )
        # A transcript mailed by reference only, and a webhook about the conversation: both quote them.
        session.add(
            OutboxJob(
                name="mail.send",
                payload={"reference": person.reference, "context": {"transcript": person.body}},
                status=JobStatus.PENDING,
            )
        )
        endpoint = WebhookEndpoint(
            url="https://hooks.example.com/kefu", events=["*"], secret_sealed=b"sealed"
        )
        session.add(endpoint)
        await session.flush()
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=uuid.uuid4().hex,
                event_name="message.created",
                body={"data": {"conversation_id": str(person.conversation_id), "body": person.body}},
                status="delivered",
            )
        )
        session.add(
            InboundEmail(
                source=InboundSource.SMTP,
                mailbox="support@kefu.test",
                raw_sha256=hashlib.sha256(raw).hexdigest(),
                raw_key=raw_key,
                size=len(raw),
                from_address=person.email,
                envelope_from=person.email,
                subject=f"hello from {person.name}",
                status=InboundStatus.HELD,
            )
        )
    return raw_key


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def _database_text(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text, JSON and binary value in the database."""
    found = []
    async with runtime.sessionmaker() as session:
        for table in load_models().sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON, LargeBinary))]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        found.append((table.name, column.name, _as_text(value)))
    return found


def _blob_text(root: Path) -> list[str]:
    return [path.read_bytes().decode("utf-8", errors="replace") for path in root.rglob("*") if path.is_file()]


def _leaks(person: Person, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    needles = [s.lower() for s in person.secrets] + [person.phone.lstrip("+")]
    return [row for row in rows if any(n in row[2].lower() for n in needles)]


async def test_nothing_of_the_customer_remains_anywhere(client: httpx.AsyncClient, runtime: Runtime) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    admin = await _admin(runtime)
    alice = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001", closed_days_ago=1)
    bob = await seed_person(client, runtime, staff, slug="bob", phone="+8613800138002", closed_days_ago=None)
    raw_key = await _extras(runtime, alice)
    [file_key] = await blob_keys(runtime, alice.conversation_id)
    # An export made earlier must not survive the erasure.
    export = await client.post(
        "/api/v1/privacy/exports", json={"contact_id": str(alice.contact_id)}, headers=admin.headers
    )
    assert export.status_code == 202, export.text
    await run_request_job(runtime, EXPORT_JOB, export.json()["id"])
    before = await _database_text(runtime)
    assert _leaks(alice, before)  # the scan does find the data it looks for

    response = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(alice.contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    await run_request_job(runtime, ERASURE_JOB, response.json()["id"])

    status = await client.get(f"/api/v1/privacy/erasures/{response.json()['id']}", headers=admin.headers)
    assert status.status_code == 200
    result = status.json()
    assert result["status"] == "completed"
    assert result["counts"]["conversations"] == 1
    assert result["counts"]["exports_deleted"] == 1
    after = await _database_text(runtime)
    assert _leaks(alice, after) == []
    assert not any(
        any(n in text.lower() for n in [s.lower() for s in alice.secrets])
        for text in _blob_text(runtime.settings.blob_dir)
    )
    assert not await runtime.blobs.exists(file_key)
    assert not await runtime.blobs.exists(raw_key)
    # Bob is untouched.
    assert _leaks(bob, after) == _leaks(bob, before)
    assert bob.file_bytes in b"".join(
        p.read_bytes() for p in runtime.settings.blob_dir.rglob("*") if p.is_file()
    )

    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, alice.conversation_id)
        assert conversation is not None
        assert (conversation.reference, conversation.status) == (alice.reference, Status.CLOSED)
        notes = list(
            await session.scalars(
                select(Message.body).where(
                    Message.conversation_id == alice.conversation_id, Message.kind == MessageKind.NOTE
                )
            )
        )
        assert notes == [f"Customer {REMOVED} called from {REMOVED}, VIP"]  # kept, masked
        contact = await session.get(Contact, alice.contact_id)
        assert contact is not None
        assert contact.anti_phishing_code_sealed is None
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == "mail.send")))
        erased = [job for job in jobs if job.payload == {"erased": True}]
        assert len(erased) >= 2
        assert JobStatus.DEAD in {job.status for job in erased}  # the queued one is cancelled
        delivery = await session.scalar(select(WebhookDelivery))
        assert delivery is not None
        assert delivery.body == {"erased": True}
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.action.like("privacy.%"))))
    assert {e.action for e in events} >= {
        "privacy.erasure_requested",
        "privacy.erasure_completed",
        "privacy.export_deleted",
    }
    # The trail names the request and the contact by id; REASON is in the request row only.
    assert all(REASON not in json.dumps(e.details) for e in events)
    # Erasing again is harmless (nothing left to erase).
    again = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(alice.contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert again.status_code == 202
    await run_request_job(runtime, ERASURE_JOB, again.json()["id"])
    assert _leaks(alice, await _database_text(runtime)) == []


async def test_notes_mentioning_the_customer_can_be_dropped(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    admin = await _admin(runtime)
    alice = await seed_person(
        client, runtime, staff, slug="alice", phone="+8613800138001", closed_days_ago=None
    )
    unrelated = await client.post(
        f"/api/v1/conversations/{alice.conversation_id}/messages",
        json={"body": "Escalated to the wallet team", "kind": "note"},
        headers=staff.headers,
    )
    assert unrelated.status_code == 201
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, alice.conversation_id)
        assert conversation is not None
        await close(session, conversation, utcnow())
    runtime.settings.privacy_erasure_keeps_notes = False
    response = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(alice.contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert response.status_code == 202, response.text
    await run_request_job(runtime, ERASURE_JOB, response.json()["id"])
    async with runtime.sessionmaker() as session:
        notes = list(
            await session.scalars(
                select(Message.body)
                .where(Message.conversation_id == alice.conversation_id, Message.kind == MessageKind.NOTE)
                .order_by(Message.seq)
            )
        )
    assert notes == [REMOVED, "Escalated to the wallet team"]


async def test_legal_holds_refuse_erasure(client: httpx.AsyncClient, runtime: Runtime) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    admin = await _admin(runtime)
    active = await seed_person(
        client, runtime, staff, slug="alice", phone="+8613800138001", closed_days_ago=None
    )
    body = {"contact_id": str(active.contact_id), "reason": REASON, "confirm": True}
    refused = await client.post("/api/v1/privacy/erasures", json=body, headers=admin.headers)
    error = assert_error(refused, 409, "legal_hold")
    assert "open_conversation" in error["fields"]

    case = await submit_case(runtime, keyring_from_settings(runtime.settings), email="erin@example.com")
    async with runtime.sessionmaker() as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        assert recovery is not None
        contact_id = recovery.contact_id
        assert "open_recovery_case" in await legal_holds(session, contact_id)
    async with transaction(runtime.sessionmaker) as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        conversation = await session.get(Conversation, case.conversation_id)
        assert recovery is not None
        assert conversation is not None
        await close(session, conversation, utcnow())
        recovery.status = RecoveryStatus.APPROVED
        recovery.decided_at = utcnow()
        recovery.security_hold_until = utcnow() + timedelta(hours=24)
    held = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert assert_error(held, 409, "legal_hold")["fields"] == {"security_hold": "hold"}

    # Once the hold ends the data may go, identity documents included.
    async with transaction(runtime.sessionmaker) as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        assert recovery is not None
        recovery.security_hold_until = utcnow() - timedelta(minutes=1)
    keys = await blob_keys(runtime, case.conversation_id)
    assert len(keys) == 3
    allowed = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert allowed.status_code == 202, allowed.text
    await run_request_job(runtime, ERASURE_JOB, allowed.json()["id"])
    for key in keys:
        assert not await runtime.blobs.exists(key)
    async with runtime.sessionmaker() as session:
        recovery = await session.get(RecoveryCase, case.case_id)
        assert recovery is not None
        assert (recovery.email, recovery.phone, recovery.exchange_uid) == ("", None, None)
        assert recovery.status == RecoveryStatus.APPROVED  # the decision is the record kept
        assert recovery.purged_at is not None


async def test_a_hold_that_appears_before_the_job_runs_fails_the_request(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    admin = await _admin(runtime)
    alice = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001", closed_days_ago=1)
    response = await client.post(
        "/api/v1/privacy/erasures",
        json={"contact_id": str(alice.contact_id), "reason": REASON, "confirm": True},
        headers=admin.headers,
    )
    assert response.status_code == 202
    reopened = await client.post(
        "/api/v1/conversations", json={"subject": "Again", "body": "Another question"}, headers=alice.headers
    )
    assert reopened.status_code == 201
    await run_request_job(runtime, ERASURE_JOB, response.json()["id"])
    async with runtime.sessionmaker() as session:
        row = await session.get(PrivacyRequest, uuid.UUID(response.json()["id"]))
        assert row is not None
        assert row.status == RequestStatus.FAILED
        assert row.error is not None
        assert "open_conversation" in row.error
        contact = await session.get(Contact, alice.contact_id)
        assert contact is not None
        assert contact.name == alice.name
