"""Opening a conversation on the fast path writes exactly what the general path writes.

On PostgreSQL a known customer's conversation, first message and tags go in one statement that also
looks the customer up; every other case (new handles, SQLite) takes the general path. These tests
run on both backends and compare what ends up stored, so the two paths cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations import create, opening
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, ConversationTag, Message
from kefu.conversations.recipients import MESSAGES_TOPIC
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.db.uow import transaction
from kefu.events.bus import get_bus
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from kefu.sla.models import ConversationSla
from tests.conftest import Database
from tests.factories import StaffMember, make_agent


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement this process sends while the test runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _known(db: Database, kind: IdentityKind, value: str) -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, kind, value)
        return contact_id


async def _open(
    db: Database, actor: Actor, **fields: Any
) -> tuple[Conversation, bool, Message | None, uuid.UUID]:
    async with transaction(db.sessionmaker) as session:
        conversation, created, first = await do_create_conversation(
            session, actor, ConversationCreate(body="USDT deposit missing", **fields), channel=ChannelKind.API
        )
        return conversation, created, first, conversation.contact_id


async def _identities(session: AsyncSession) -> dict[tuple[str, str], uuid.UUID]:
    rows = await session.execute(
        select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.contact_id)
    )
    return {(str(kind), value): contact_id for kind, value, contact_id in rows}


async def test_a_known_customer_gets_every_row_and_event(db: Database, runtime: Runtime) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    contact_id = await _known(db, IdentityKind.EMAIL, "alice@example.com")
    published: list[Event] = []
    async with get_bus().subscribe(["conversations:all", MESSAGES_TOPIC]) as events:
        conversation, created, first, owner = await _open(
            db,
            agent.actor,
            subject="Deposit",
            customer={"email": "Alice@Example.com"},
            tags=["vip", "deposit", "vip"],
            category="deposit",
            form_fields={"asset": "USDT", "network": "TRC20"},
        )
        async for item in events:
            published.append(item)
            if item.name == EventName.CONVERSATION_CREATED:
                break
    assert created
    assert owner == contact_id
    assert first is not None
    assert conversation.tags == ["deposit", "vip"]
    async with db.sessionmaker() as session:
        stored = await session.get(Conversation, conversation.id)
        assert stored is not None
        assert (stored.contact_id, stored.reference, stored.last_seq) == (
            contact_id,
            conversation.reference,
            1,
        )
        assert stored.form_fields == {"asset": "USDT", "network": "TRC20"}
        tags = await session.scalars(
            select(ConversationTag.tag).where(ConversationTag.conversation_id == conversation.id)
        )
        assert sorted(tags) == ["deposit", "vip"]
        message = await session.get(Message, first.id)
        assert message is not None
        assert (message.seq, message.kind, message.author_kind, message.author_agent_id) == (
            1,
            MessageKind.REPLY,
            AuthorKind.AGENT,
            agent.id,
        )
        assert message.created_at == stored.created_at
        assert await session.get(ConversationSla, conversation.id) is not None
        assert await _identities(session) == {("email", "alice@example.com"): contact_id}
    assert [e.name for e in published] == [EventName.MESSAGE_CREATED, EventName.CONVERSATION_CREATED]


async def test_the_first_given_handle_names_the_customer(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    by_uid = await _known(db, IdentityKind.EXCHANGE_UID, "10000001")
    by_email = await _known(db, IdentityKind.EMAIL, "bob@example.com")
    *_, owner = await _open(
        db, agent.actor, customer={"email": "bob@example.com", "exchange_uid": "10000001"}
    )
    assert owner == by_uid
    *_, owner = await _open(db, agent.actor, customer={"email": "bob@example.com"})
    assert owner == by_email


async def test_a_new_handle_is_attached_to_the_known_customer(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    contact_id = await _known(db, IdentityKind.EMAIL, "carol@example.com")
    _conversation, created, _first, owner = await _open(
        db, agent.actor, customer={"email": "carol@example.com", "phone": "+65 9123 4567"}
    )
    assert created
    assert owner == contact_id
    async with db.sessionmaker() as session:
        assert await _identities(session) == {
            ("email", "carol@example.com"): contact_id,
            ("phone", "+6591234567"): contact_id,
        }


async def test_a_new_customer_is_created_once(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    *_, first_owner = await _open(db, agent.actor, customer={"email": "dan@example.com", "name": "Dan"})
    *_, again = await _open(db, agent.actor, customer={"email": "DAN@example.com"})
    assert again == first_owner
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ContactIdentity)) == 1
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 2


async def test_a_repeated_client_id_returns_the_original(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await _known(db, IdentityKind.EMAIL, "erin@example.com")
    fields: dict[str, Any] = {"customer": {"email": "erin@example.com"}, "client_id": "req-42"}
    original, created, first, _owner = await _open(db, agent.actor, **fields)
    assert created
    assert first is not None
    again, created_again, first_again, _owner = await _open(db, agent.actor, **fields)
    assert (again.id, created_again, first_again) == (original.id, False, None)
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


@pytest.mark.parametrize("known", [True, False], ids=["known customer", "new customer"])
async def test_a_reference_collision_is_retried(
    db: Database, monkeypatch: pytest.MonkeyPatch, known: bool
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    taken, *_ = await _open(db, agent.actor, customer={"email": "frank@example.com"})
    if not known:
        await _known(db, IdentityKind.EMAIL, "someone-else@example.com")
    # Twice: on PostgreSQL the one-statement attempt draws a reference before it knows whether the
    # customer is known, so the general path must meet the collision too.
    references = iter([taken.reference, taken.reference, "KF-12345678"])
    for module in (create, opening):  # the one-statement attempt draws in opening, retries in create
        monkeypatch.setattr(module, "new_reference", lambda: next(references))
    email = "frank@example.com" if known else "grace@example.com"
    conversation, created, first, _owner = await _open(db, agent.actor, customer={"email": email})
    assert created
    assert first is not None
    assert conversation.reference == "KF-12345678"
    async with db.sessionmaker() as session:
        bodies = await session.scalars(select(Message.conversation_id))
        assert sorted(map(str, bodies)) == sorted([str(taken.id), str(conversation.id)])


async def test_customers_open_their_own_conversations(db: Database) -> None:
    contact_id = await _known(db, IdentityKind.EMAIL, "hana@example.com")
    conversation, created, first, owner = await _open(db, CustomerActor(contact_id=contact_id))
    assert created
    assert owner == contact_id
    assert first is not None
    assert (first.author_kind, first.author_contact_id) == (AuthorKind.CUSTOMER, contact_id)
    assert conversation.tags == []


async def test_a_failure_after_the_opening_writes_nothing(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await _known(db, IdentityKind.EMAIL, "ivan@example.com")

    async def open_then_fail() -> None:
        async with transaction(db.sessionmaker) as session:
            await do_create_conversation(
                session,
                agent.actor,
                ConversationCreate(body="x", customer=CustomerIn(email="ivan@example.com")),
                channel=ChannelKind.API,
            )
            raise RuntimeError("the request failed later")

    with pytest.raises(RuntimeError):
        await open_then_fail()
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


async def test_postgres_opens_for_a_known_customer_in_one_statement(
    db: Database, statements: list[str]
) -> None:
    if db.backend != "postgres":
        pytest.skip("SQLite has no data-modifying CTEs; its round trips are in-process calls")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await _known(db, IdentityKind.EMAIL, "judy@example.com")
    await _open(db, agent.actor, customer={"email": "judy@example.com"})  # warms per-process caches
    statements.clear()
    await _open(db, agent.actor, customer={"email": "judy@example.com"}, tags=["vip"])
    opening = [s for s in statements if "INSERT INTO conversations" in s]
    assert len(opening) == 1
    assert "contact_identities" in opening[0]
    assert "INSERT INTO messages" in opening[0]
    assert "INSERT INTO conversation_tags" in opening[0]
    # The SLA clocks (kefu.sla.actions.opening_row) ride in the same statement: nothing else is sent.
    assert "INSERT INTO conversation_sla" in opening[0]
    assert len(statements) == 1, statements


async def test_the_http_answer_matches_the_stored_conversation(
    db: Database, client: httpx.AsyncClient
) -> None:
    agent: StaffMember = await make_agent(db.sessionmaker, "li@kefu.test")
    body = {"body": "hello", "customer": {"email": "kim@example.com"}, "tags": ["b", "a"], "client_id": "c-1"}
    created = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/json"
    assert created.headers["cache-control"] == "no-store"
    assert created.headers["x-content-type-options"] == "nosniff"
    again = await client.post("/api/v1/conversations", json=body, headers=agent.headers)
    assert again.status_code == 200
    shown = await client.get(f"/api/v1/conversations/{created.json()['id']}", headers=agent.headers)
    assert shown.status_code == 200
    expected = shown.json() | {"customer_token": None}
    assert created.json() == expected
    assert again.json() == expected
    assert expected["tags"] == ["a", "b"]


async def test_the_http_route_refuses_bad_callers_before_reading_the_body(client: httpx.AsyncClient) -> None:
    bad_token = await client.post(
        "/api/v1/conversations", content=b"not json", headers={"authorization": "Bearer kefu_nope"}
    )
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["code"]
