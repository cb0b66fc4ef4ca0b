"""The one-statement chat post (kefu.chat.quick_post): taken only when the general path would write
nothing but the message, and then indistinguishable from it; otherwise it writes nothing at all."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from kefu.auth.actors import CustomerActor
from kefu.automation.models import Trigger
from kefu.automation.triggers import ACTIVE_TRIGGERS
from kefu.chat.actions import KnownChat, Posted, do_post_message
from kefu.chat.identity import ChatCustomer
from kefu.chat.quick_post import QuickPosted, try_quick_post
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, Status
from kefu.conversations.timeline import NewMessage, append_message_once
from kefu.core.clock import utcnow
from kefu.db.cache import clear_config_caches
from kefu.db.uow import transaction
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind
from kefu.sla.models import ClockState, ConversationSla
from kefu.webhooks import listeners as webhooks
from kefu.webhooks.models import WebhookEndpoint
from tests.auth.conftest import RecordingBus
from tests.conftest import Database
from tests.conversations.test_redaction import SEED


async def _general(db: Database, customer: ChatCustomer, client_id: str, known: KnownChat | None) -> Posted:
    """A post through the general path (which also fills the configuration caches)."""
    async with transaction(db.sessionmaker) as session:
        return await do_post_message(
            session, customer, body=f"text {client_id}", client_id=client_id, locale="en", known=known
        )


async def _open(db: Database) -> tuple[ChatCustomer, KnownChat]:
    webhooks.install()  # as the server has it: events become deliveries for subscribed endpoints
    clear_config_caches()
    customer = ChatCustomer(visitor_id=uuid.uuid4())
    opened = await _general(db, customer, "open", None)
    known = KnownChat(opened.contact_id, opened.conversation.id)
    await _general(db, customer, "warm", known)  # the caches as a running server has them
    return customer, known


async def _quick(db: Database, known: KnownChat, client_id: str, body: str = "quick") -> QuickPosted | None:
    posted = await try_quick_post(
        db.engine,
        db.sessionmaker,
        contact_id=known.contact_id,
        conversation_id=known.conversation_id,
        body=body,
        client_id=client_id,
    )
    _published[known.conversation_id] = [] if posted is None else list(posted.events)
    return posted


_published: dict[uuid.UUID, list[Event]] = {}


async def _state(db: Database, conversation_id: uuid.UUID) -> tuple[int, list[int], dict[str, Any]]:
    """(last_seq, the stored seqs, the SLA row's columns)."""
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        seqs = await session.scalars(
            select(Message.seq).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        sla = await session.get(ConversationSla, conversation_id)
        assert sla is not None
        columns = {c.key: getattr(sla, c.key) for c in ConversationSla.__table__.columns}
        return conversation.last_seq, list(seqs), columns


async def test_a_quiet_chat_is_stored_in_one_statement_as_the_general_path_would(db: Database) -> None:
    customer, known = await _open(db)
    before = await _state(db, known.conversation_id)
    posted = await _quick(db, known, "q-1", "my deposit is missing")
    if db.backend == "sqlite":
        # SQLite has no data-modifying CTEs: always the general path, and nothing written here.
        assert posted is None
        assert await _state(db, known.conversation_id) == before
        return
    assert posted is not None
    assert (posted.message.seq, posted.chat.status, posted.chat.assignee_id) == (3, "new", None)
    last_seq, seqs, sla = await _state(db, known.conversation_id)
    assert (last_seq, seqs) == (3, [1, 2, 3])
    assert sla == before[2]  # the clocks did not move, as the SLA step would have left them
    async with db.sessionmaker() as session:
        stored = await session.scalar(select(Message).where(Message.client_id == "q-1"))
        conversation = await session.get(Conversation, known.conversation_id)
    assert stored is not None
    assert conversation is not None
    assert (stored.id, stored.body, stored.author_kind, stored.author_contact_id, stored.channel) == (
        posted.message.id,
        "my deposit is missing",
        AuthorKind.CUSTOMER,
        known.contact_id,
        ChannelKind.CHAT,
    )
    assert conversation.last_activity_at == stored.created_at
    # The same events the general path publishes: compare with its next message's.
    quick_events = _published[known.conversation_id]
    bus = RecordingBus()
    from kefu.events.bus import install_bus

    previous = install_bus(bus)
    try:
        general = await _general(db, customer, "g-1", known)
    finally:
        install_bus(previous)
    assert general.message.seq == 4

    def shape(event: Event, message_id: str, seq: int) -> tuple[object, ...]:
        payload = {**event.payload}
        assert payload.pop("message_id") == message_id
        assert payload.pop("seq") == seq
        return event.name, event.topics, payload

    assert [shape(e, str(posted.message.id), 3) for e in quick_events] == [
        shape(e, str(general.message.id), 4) for e in bus.published
    ]


async def test_a_resend_of_a_stored_message_writes_nothing(db: Database) -> None:
    _customer, known = await _open(db)
    before = await _state(db, known.conversation_id)
    assert await _quick(db, known, "warm") is None  # the general path answers the resend
    assert await _state(db, known.conversation_id) == before


async def _set_pending(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(Conversation).where(Conversation.id == known.conversation_id).values(status=Status.PENDING)
        )


async def _set_closed(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(Conversation).where(Conversation.id == known.conversation_id).values(status=Status.CLOSED)
        )


async def _set_answered(db: Database, known: KnownChat) -> None:
    """An agent answered: the customer's next message starts the next-response clock."""
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == known.conversation_id)
            .values(first_response_at=utcnow(), status=Status.OPEN)
        )
        await session.execute(
            update(ConversationSla)
            .where(ConversationSla.conversation_id == known.conversation_id)
            .values(basis="normal|general||chat", next_response_state=ClockState.ACHIEVED.value)
        )


async def _set_paused(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(ConversationSla)
            .where(ConversationSla.conversation_id == known.conversation_id)
            .values(paused_at=utcnow() - timedelta(minutes=5))
        )


async def _set_stale_basis(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        await session.execute(
            update(Conversation).where(Conversation.id == known.conversation_id).values(priority="urgent")
        )


async def _add_customer_message_trigger(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        session.add(
            Trigger(
                name="tag every customer message",
                on="customer_message",
                conditions=[],
                actions=[{"type": "add_tags", "tags": ["customer-wrote"]}],
            )
        )
    clear_config_caches()
    await _general(db, ChatCustomer(visitor_id=uuid.uuid4()), "other", None)  # caches warm again


async def _add_webhook(db: Database, known: KnownChat) -> None:
    async with transaction(db.sessionmaker) as session:
        session.add(
            WebhookEndpoint(
                url="https://hooks.example.com/kefu", events=["message.created"], secret_sealed=b"s"
            )
        )
    clear_config_caches()
    await _general(db, ChatCustomer(visitor_id=uuid.uuid4()), "other", None)


_PROBE = Event(name=EventName.MESSAGE_CREATED, topics=("conversation:x",), payload={"kind": "reply"})


async def _cold_caches(db: Database, known: KnownChat) -> None:
    clear_config_caches()


async def _nothing(db: Database, known: KnownChat) -> None:
    return None


Setup = Callable[[Database, KnownChat], Awaitable[None]]


@pytest.mark.parametrize(
    "setup",
    [
        _nothing,  # the control: the same chat, quiet, is taken (on PostgreSQL)
        _set_pending,
        _set_closed,
        _set_answered,
        _set_paused,
        _set_stale_basis,
        _add_customer_message_trigger,
        _add_webhook,
        _cold_caches,
    ],
    ids=lambda setup: setup.__name__.strip("_"),
)
async def test_anything_more_to_do_means_the_general_path_and_nothing_written(
    db: Database, setup: Setup
) -> None:
    _customer, known = await _open(db)
    await setup(db, known)
    before = await _state(db, known.conversation_id)
    posted = await _quick(db, known, "q-1")
    if setup is _nothing and db.backend == "postgres":
        assert posted is not None
        assert (await _state(db, known.conversation_id))[:2] == (3, [1, 2, 3])
        return
    assert posted is None
    assert await _state(db, known.conversation_id) == before
    assert _published[known.conversation_id] == []
    if setup is _cold_caches:
        # The miss read the configuration in the background: the next message is quick again.
        for _ in range(100):
            if ACTIVE_TRIGGERS.fresh(None) is not None and webhooks.endpoints_want(_PROBE) is not None:
                break
            await asyncio.sleep(0.02)
        assert (await _quick(db, known, "q-2") is not None) is (db.backend == "postgres")


@pytest.mark.parametrize(
    ("who", "body"),
    [("another customer", "hello"), ("the customer", f"my words: {SEED}")],
)
async def test_a_stranger_or_a_pasted_secret_is_not_taken(db: Database, who: str, body: str) -> None:
    _customer, known = await _open(db)
    before = await _state(db, known.conversation_id)
    if who == "another customer":
        _other, theirs = await _open(db)
        known = KnownChat(theirs.contact_id, known.conversation_id)
    assert await _quick(db, known, "q-1", body) is None
    assert await _state(db, known.conversation_id) == before


@pytest.mark.postgres
async def test_a_client_id_racing_in_gives_the_seq_back(db: Database) -> None:
    if db.backend != "postgres":
        pytest.skip("the race needs PostgreSQL's row locks")
    _customer, known = await _open(db)
    release = asyncio.Event()
    locked = asyncio.Event()

    async def original() -> None:
        # Another socket of the customer stores "dup" and holds the chat's row lock a moment.
        async with transaction(db.sessionmaker) as session:
            conversation = await session.get(Conversation, known.conversation_id)
            assert conversation is not None
            stored = await append_message_once(
                session,
                conversation,
                CustomerActor(contact_id=known.contact_id),
                NewMessage(body="first copy", client_id="dup"),
                author=AuthorKind.CUSTOMER,
                channel=ChannelKind.CHAT,
            )
            assert stored is not None
            locked.set()
            await release.wait()

    task = asyncio.create_task(original())
    await locked.wait()
    quick = asyncio.create_task(_quick(db, known, "dup"))
    await asyncio.sleep(0.3)  # the quick post checked the client id and waits for the row lock
    release.set()
    await task
    assert await quick is None
    last_seq, seqs, _sla = await _state(db, known.conversation_id)
    assert (last_seq, seqs) == (3, [1, 2, 3])  # stored once, no gap
