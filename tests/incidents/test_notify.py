"""Resolving queues one notice job per linked conversation; the job posts one customer reply, ever."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kefu.auth.roles import Role
from kefu.conversations.models import Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.db.uow import transaction
from kefu.incidents.actions import notify_dedupe_key
from kefu.incidents.jobs import HANDLERS, notify_conversation
from kefu.incidents.states import NOTIFY_JOB
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.registry import HandlerRegistry, JobContext, PermanentJobError
from kefu.jobs.worker import Worker
from kefu.runtime import Runtime
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import make_agent, make_customer, open_conversation
from tests.incidents.helpers import create_incident, incident_client


async def _notices(db: Database, conversation_id: uuid.UUID) -> list[Message]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.author_kind == AuthorKind.SYSTEM
            )
        )
        return [m for m in rows if m.kind == MessageKind.REPLY]


async def test_resolve_queues_one_job_per_linked_conversation_and_notifies_once(
    db: Database, runtime: Runtime, settings: Settings
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    bob = await make_customer(db.sessionmaker, settings, "bob@example.com")
    async with incident_client(runtime) as client:
        incident = await create_incident(
            client, boss, title={"en": "TRC20 deposits delayed", "zh-CN": "TRC20 充币延迟"}
        )
        first = await open_conversation(client, alice, subject="Deposit missing")
        second = await open_conversation(client, bob, subject="充币没到账", locale="zh-CN")
        unlinked = await open_conversation(client, alice, subject="Other")
        for conversation in (first, second):
            url = f"/api/v1/conversations/{conversation['id']}/incidents/{incident['id']}"
            assert (await client.post(url, headers=agent.headers)).status_code == 201
            # Linking twice is harmless.
            assert (await client.post(url, headers=agent.headers)).status_code == 200
        response = await client.post(
            f"/api/v1/incidents/{incident['id']}/resolve",
            json={"body": {"en": "Fixed."}},
            headers=boss.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "resolved"
        # Resolving again is a conflict and queues nothing more.
        again = await client.post(
            f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=boss.headers
        )
        assert again.status_code == 409

    async with db.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == NOTIFY_JOB)))
    incident_id = uuid.UUID(incident["id"])
    expected = {notify_dedupe_key(incident_id, uuid.UUID(str(c["id"]))) for c in (first, second)}
    assert {j.dedupe_key for j in jobs} == expected
    assert len(jobs) == 2

    worker = Worker(db.sessionmaker, HandlerRegistry(HANDLERS))
    while await worker.run_once():
        pass
    async with db.sessionmaker() as session:
        statuses = set(await session.scalars(select(OutboxJob.status).where(OutboxJob.name == NOTIFY_JOB)))
    assert statuses == {JobStatus.DONE}

    english = await _notices(db, uuid.UUID(str(first["id"])))
    chinese = await _notices(db, uuid.UUID(str(second["id"])))
    assert len(english) == 1
    assert len(chinese) == 1
    assert "has been resolved" in english[0].body
    assert "TRC20 deposits delayed" in english[0].body
    assert "TRC20 充币延迟" in chinese[0].body  # the conversation's language picks the title
    assert await _notices(db, uuid.UUID(str(unlinked["id"]))) == []

    # A retried job (same payload) adds nothing.
    payload = {"incident_id": incident["id"], "conversation_id": first["id"]}
    for attempt in (1, 2):
        async with transaction(db.sessionmaker) as session:
            ctx = JobContext(session, uuid.uuid4(), NOTIFY_JOB, attempt, "retry")
            await notify_conversation(ctx, payload)
    assert len(await _notices(db, uuid.UUID(str(first["id"])))) == 1


async def test_handler_twice_on_a_fresh_job_posts_one_reply(
    db: Database, runtime: Runtime, settings: Settings
) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    async with incident_client(runtime) as client:
        incident = await create_incident(
            client, boss, kind="maintenance", starts_at=datetime(2030, 1, 1, tzinfo=UTC)
        )
        conversation = await open_conversation(client, alice)
        url = f"/api/v1/conversations/{conversation['id']}/incidents/{incident['id']}"
        assert (await client.post(url, headers=boss.headers)).status_code == 201
        done = await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=boss.headers)
        assert done.json()["status"] == "completed"
    payload = {"incident_id": incident["id"], "conversation_id": conversation["id"]}
    for attempt in (1, 2):
        async with transaction(db.sessionmaker) as session:
            await notify_conversation(JobContext(session, uuid.uuid4(), NOTIFY_JOB, attempt, "k"), payload)
    notices = await _notices(db, uuid.UUID(str(conversation["id"])))
    assert len(notices) == 1
    assert "maintenance" in notices[0].body
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.name == NOTIFY_JOB)
        )
    assert count == 1


async def test_malformed_payload_is_a_permanent_failure(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        with pytest.raises(PermanentJobError):
            await notify_conversation(
                JobContext(session, uuid.uuid4(), NOTIFY_JOB, 1, "k"), {"incident_id": "x"}
            )
        # A vanished incident or conversation is nothing to do, not an error.
        gone = {"incident_id": str(uuid.uuid4()), "conversation_id": str(uuid.uuid4())}
        await notify_conversation(JobContext(session, uuid.uuid4(), NOTIFY_JOB, 1, "k"), gone)
