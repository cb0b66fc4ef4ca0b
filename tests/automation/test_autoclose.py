"""Auto-close: solved conversations close once the policy's days have passed (frozen clock)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from kefu.automation.autoclose import AUTO_CLOSE_JOB, close_solved_conversations
from kefu.automation.jobs import run_auto_close
from kefu.automation.models import AutoClosePolicy
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.jobs.registry import JobContext
from kefu.registry import load_job_modules
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, open_conversation


async def solved(api: httpx.AsyncClient, agent: StaffMember) -> str:
    created = await open_conversation(api, agent)
    response = await api.patch(
        f"/api/v1/conversations/{created['id']}", json={"status": "solved"}, headers=agent.headers
    )
    assert response.status_code == 200, response.text
    return str(created["id"])


async def status_of(db: Database, ident: str) -> str:
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, uuid.UUID(ident))
        assert conversation is not None
        return str(conversation.status)


async def test_closes_only_conversations_solved_long_enough(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    old = [await solved(api, agent) for _ in range(3)]
    clock.advance(timedelta(days=2))
    recent = await solved(api, agent)
    still_open = str((await open_conversation(api, agent))["id"])
    clock.advance(timedelta(days=2, minutes=1))

    async with transaction(db.sessionmaker) as session:
        # Small batches prove the loop goes on until a batch comes back short.
        assert await close_solved_conversations(session, batch_size=2) == 3
    assert [await status_of(db, i) for i in old] == ["closed"] * 3
    assert await status_of(db, recent) == "solved"
    assert await status_of(db, still_open) == "new"
    async with transaction(db.sessionmaker) as session:
        assert await close_solved_conversations(session) == 0  # nothing left: idempotent

    clock.advance(timedelta(days=2))
    async with transaction(db.sessionmaker) as session:
        await run_auto_close(
            JobContext(
                session=session, job_id=uuid.uuid4(), name=AUTO_CLOSE_JOB, attempt=1, idempotency_key="k"
            ),
            {"slot": clock.now().isoformat()},
        )
    assert await status_of(db, recent) == "closed"


async def test_policy_days_and_disabled(api: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    ident = await solved(api, agent)
    async with transaction(db.sessionmaker) as session:
        session.add(AutoClosePolicy(id=1, after_days=10, enabled=False))
    clock.advance(timedelta(days=11))
    async with transaction(db.sessionmaker) as session:
        assert await close_solved_conversations(session) == 0
        policy = await session.get(AutoClosePolicy, 1)
        assert policy is not None
        policy.enabled = True
    async with transaction(db.sessionmaker) as session:
        assert await close_solved_conversations(session) == 1
    assert await status_of(db, ident) == "closed"


def test_registered_as_a_ten_minute_periodic_job() -> None:
    handlers, periodic = load_job_modules()
    assert handlers[AUTO_CLOSE_JOB] is run_auto_close
    assert {(t.name, t.every) for t in periodic} >= {(AUTO_CLOSE_JOB, timedelta(minutes=10))}
