"""The one-statement create for API clients (kefu.conversations.quick_open): taken only when the
general path would write nothing but the opening rows, and then indistinguishable from it; any
other case takes the general path, which does what it always did."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from kefu.auth.tokens import LIVE_TOKENS, cached_api_token_actor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations import pipeline
from kefu.conversations.models import Conversation, Message
from kefu.conversations.recipients import MESSAGES_TOPIC
from kefu.db.cache import clear_config_caches
from kefu.db.uow import transaction
from kefu.events import emit
from kefu.events.bus import install_bus
from kefu.events.emit import add_transaction_listener, listeners_want, remove_transaction_listener
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.routing.models import RoutingMode, TeamRouting
from kefu.runtime import Runtime
from kefu.sla.models import ConversationSla
from kefu.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.auth.conftest import RecordingBus
from tests.automation.test_triggers import add_trigger
from tests.conftest import Database
from tests.conversations.test_redaction import SEED
from tests.factories import StaffMember, make_agent, make_team
from tests.sla.helpers import add_policy

URL = "/api/v1/conversations"
BODY: dict[str, Any] = {
    "subject": "Deposit missing",
    "body": "USDT deposit not credited",
    "category": "deposit",
    "customer": {"email": "alice@example.com"},
    "form_fields": {"asset": "USDT", "network": "TRC20"},
    "tags": ["vip", "deposit"],
}


class Statements:
    """Every statement this process sends: (sent by the driver outside SQLAlchemy, SQL)."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, str]] = []

    def record(self, conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        self.seen.append((conn is None, statement))

    @property
    def quick(self) -> bool:
        """Whether the last request wrote with a driver statement (the one-statement create)."""
        return any(by_driver for by_driver, _sql in self.seen)


@pytest.fixture
def bus(runtime: Runtime) -> Iterator[RecordingBus]:
    """What the app publishes (installed after the runtime's own bus)."""
    recording = RecordingBus()
    previous = install_bus(recording)
    yield recording
    install_bus(previous)


@pytest.fixture
def statements(db: Database) -> Iterator[Statements]:
    recorder = Statements()
    event.listen(db.engine.sync_engine, "before_cursor_execute", recorder.record)
    yield recorder
    event.remove(db.engine.sync_engine, "before_cursor_execute", recorder.record)


async def _known_customer(db: Database, email: str = "alice@example.com") -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
        return contact_id


async def _warm(client: httpx.AsyncClient, agent: StaffMember) -> None:
    """A create through the general path: the token and configuration caches as a running server has them."""
    warm = await client.post(
        URL, json=BODY | {"customer": {"email": "warm@example.com"}}, headers=agent.headers
    )
    assert warm.status_code == 201, warm.text


async def _post(
    client: httpx.AsyncClient, agent: StaffMember, statements: Statements, **changes: Any
) -> httpx.Response:
    statements.seen.clear()
    return await client.post(URL, json=BODY | changes, headers=agent.headers)


async def _count(db: Database, model: type[Any]) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _stored(db: Database, conversation_id: str) -> tuple[Conversation, list[Message], ConversationSla]:
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, uuid.UUID(conversation_id))
        assert conversation is not None
        _ = conversation.tags
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
        )
        sla = await session.get(ConversationSla, conversation.id)
        assert sla is not None
        return conversation, list(rows.all()), sla


def _without_instants(row: object, *columns: str) -> dict[str, Any]:
    """A row's columns that do not depend on when or under which id it was written."""
    changing = {
        "id",
        "conversation_id",
        "reference",
        "created_at",
        "updated_at",
        "last_activity_at",
        "started_at",
    }
    values = {column: getattr(row, column) for column in columns if column not in changing}
    return {k: v for k, v in values.items() if not k.endswith("_at")}


_CONVERSATION_COLUMNS = tuple(c.key for c in Conversation.__table__.columns)
_MESSAGE_COLUMNS = tuple(c.key for c in Message.__table__.columns)
_SLA_COLUMNS = tuple(c.key for c in ConversationSla.__table__.columns)


async def test_a_known_customers_conversation_is_one_statement_and_the_same_rows(
    client: httpx.AsyncClient, db: Database, runtime: Runtime, statements: Statements, bus: RecordingBus
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    await add_policy(client, boss, first_response_minutes=30, resolution_minutes=600)
    contact_id = await _known_customer(db)
    await _warm(client, agent)
    # The general path, as the reference: the token not cached sends the request there.
    LIVE_TOKENS.invalidate()
    general = await _post(client, agent, statements)
    assert general.status_code == 201, general.text
    assert not statements.quick
    bus.published.clear()

    quick = await _post(client, agent, statements, client_id="integration-42")
    assert quick.status_code == 201, quick.text
    assert statements.quick is (db.backend == "postgres")
    if statements.quick:
        assert len(statements.seen) == 1  # with every cache warm, nothing is read either

    answer, reference = quick.json(), general.json()
    assert answer["contact_id"] == str(contact_id) == reference["contact_id"]
    assert answer["reference"].startswith("KF-")
    assert {
        k: v
        for k, v in answer.items()
        if k not in {"id", "reference", "created_at", "updated_at", "last_activity_at"}
    } == {
        k: v
        for k, v in reference.items()
        if k not in {"id", "reference", "created_at", "updated_at", "last_activity_at"}
    }
    stored, messages, sla = await _stored(db, answer["id"])
    expected, expected_messages, expected_sla = await _stored(db, reference["id"])
    assert stored.reference == answer["reference"]
    assert stored.tags == ["deposit", "vip"]
    assert _without_instants(stored, *_CONVERSATION_COLUMNS) | {"client_id": None} == _without_instants(
        expected, *_CONVERSATION_COLUMNS
    )
    assert len(messages) == len(expected_messages) == 1
    assert _without_instants(messages[0], *_MESSAGE_COLUMNS) | {"client_id": None} == _without_instants(
        expected_messages[0], *_MESSAGE_COLUMNS
    )
    assert messages[0].created_at == stored.created_at == sla.started_at
    assert _without_instants(sla, *_SLA_COLUMNS) == _without_instants(expected_sla, *_SLA_COLUMNS)
    assert sla.policy_id is not None
    assert sla.first_response_due_at is not None
    # The same events as the general path, in the same order, naming the new conversation.
    assert [(e.name, e.topics) for e in bus.published] == [
        (EventName.MESSAGE_CREATED, (f"conversation:{answer['id']}", MESSAGES_TOPIC)),
        (EventName.MESSAGE_CREATED, (f"customer-conversation:{answer['id']}",)),
        (EventName.CONVERSATION_CREATED, (f"conversation:{answer['id']}", "conversations:all")),
    ]
    assert bus.published[2].payload["reference"] == answer["reference"]
    assert bus.published[0].payload["message_id"] == str(messages[0].id)

    # A retry of the same client_id answers with the original (through the general path).
    again = await _post(client, agent, statements, client_id="integration-42")
    assert (again.status_code, again.json()["id"]) == (200, answer["id"])


async def _a_matching_trigger(db: Database) -> None:
    await add_trigger(
        db,
        on="created",
        conditions=[{"type": "category", "value": "deposit"}],
        actions=[{"type": "set_priority", "value": "high"}],
    )


async def _a_webhook_endpoint(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        session.add(
            WebhookEndpoint(
                url="https://hooks.example.com/kefu", events=["conversation.created"], secret_sealed=b"s"
            )
        )


async def _an_auto_routed_team(db: Database) -> None:
    team_id = await make_team(db.sessionmaker, "Deposits")
    async with transaction(db.sessionmaker) as session:
        session.add(TeamRouting(team_id=team_id, mode=RoutingMode.ROUND_ROBIN.value))
    BODY_CHANGES["team_id"] = str(team_id)


async def _a_seed_phrase(db: Database) -> None:
    BODY_CHANGES["body"] = f"my words are {SEED}"


async def _a_new_customer(db: Database) -> None:
    BODY_CHANGES["customer"] = {"email": "newcomer@example.com"}


async def _a_second_handle(db: Database) -> None:
    BODY_CHANGES["customer"] = {"email": "alice@example.com", "exchange_uid": "10000001"}


async def _the_token_not_cached(db: Database) -> None:
    return None  # the test drops the token from the cache after the warm-up


async def _nothing(db: Database) -> None:
    return None


BODY_CHANGES: dict[str, Any] = {}
Setup = Callable[[Database], Awaitable[None]]


@pytest.mark.parametrize(
    "setup",
    [
        _nothing,  # the control: quick on PostgreSQL
        _a_matching_trigger,
        _a_webhook_endpoint,
        _an_auto_routed_team,
        _a_seed_phrase,
        _a_new_customer,
        _a_second_handle,
        _the_token_not_cached,
    ],
    ids=lambda setup: setup.__name__.strip("_"),
)
async def test_anything_more_to_do_takes_the_general_path_which_does_it(
    client: httpx.AsyncClient, db: Database, statements: Statements, setup: Setup
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await _known_customer(db)
    BODY_CHANGES.clear()
    await setup(db)
    clear_config_caches()
    await _warm(client, agent)  # fills the caches again, as the general path does
    if setup is _the_token_not_cached:
        LIVE_TOKENS.invalidate()
    response = await _post(client, agent, statements, **BODY_CHANGES)
    assert response.status_code == 201, response.text
    if setup in (_a_new_customer, _a_second_handle):
        # The statement itself finds a handle nobody holds and writes nothing; the general path does.
        assert statements.quick is (db.backend == "postgres")
        assert len(statements.seen) > 1
    else:
        assert statements.quick is (setup is _nothing and db.backend == "postgres")
    assert await _count(db, Conversation) == 2  # the warm-up's and this one, once
    answer = response.json()
    stored, messages, _sla = await _stored(db, answer["id"])
    if setup is _a_matching_trigger:
        assert answer["priority"] == stored.priority == "high"
    elif setup is _a_webhook_endpoint:
        assert await _count(db, WebhookDelivery) == 2  # the warm-up's and this one's
    elif setup is _a_seed_phrase:
        assert SEED.split()[3] not in messages[0].body
        async with db.sessionmaker() as session:
            audited = await session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.target_id == answer["id"])
            )
        assert audited
    elif setup is _a_new_customer:
        assert await _count(db, Contact) == 3  # alice, the warm-up's customer and the newcomer
    elif setup is _a_second_handle:
        assert await _count(db, Contact) == 2  # the uid joined alice
        async with db.sessionmaker() as session:
            uid_holder = await session.scalar(
                select(ContactIdentity.contact_id).where(ContactIdentity.value == "10000001")
            )
        assert answer["contact_id"] == str(uid_holder) == str(await _known_customer(db))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer": {"email": "not-an-email"}}, "customer.email"),
        ({"form_fields": {"asset": "USDT", "network": "TRC20", "amount": "-1"}}, "form_fields.amount"),
        ({"body": "x" * 20_001}, "body"),
        ({"team_id": str(uuid.UUID(int=7))}, "team_id"),
        ({"customer": None}, "customer"),
    ],
)
async def test_bad_input_from_a_cached_token_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, statements: Statements, changes: dict[str, Any], field: str
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await _known_customer(db)
    await _warm(client, agent)
    before = await _count(db, Conversation), await _count(db, Message)
    response = await _post(client, agent, statements, **changes)
    assert response.status_code == 422, response.text
    assert any(key.startswith(field) for key in response.json()["error"]["fields"]), response.json()
    assert (await _count(db, Conversation), await _count(db, Message)) == before


async def test_cached_token_actor_needs_a_live_unexpired_recently_touched_token(
    client: httpx.AsyncClient, db: Database
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    assert cached_api_token_actor(agent.token) is None  # never read by this process
    assert cached_api_token_actor("not-a-token") is None
    await _known_customer(db)
    await _warm(client, agent)
    actor = cached_api_token_actor(agent.token)
    assert actor is not None
    assert actor.agent_id == agent.id
    LIVE_TOKENS.invalidate()  # a revocation in this process drops it at once
    assert cached_api_token_actor(agent.token) is None


def test_every_pipeline_processor_says_when_it_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(pipeline.QUIET_ON_OPENING) == set(pipeline.PROCESSORS)
    checks = pipeline.load_quiet_checks()
    assert checks is not None
    assert len(checks) == len(pipeline.PROCESSORS)
    # A processor added without a check is never taken to be quiet.
    monkeypatch.setattr(pipeline, "PROCESSORS", (*pipeline.PROCESSORS, "kefu.example:process_change"))
    pipeline.load_quiet_checks.cache_clear()
    try:
        assert pipeline.load_quiet_checks() is None
    finally:
        monkeypatch.undo()
        pipeline.load_quiet_checks.cache_clear()


def test_listeners_that_cannot_tell_want_every_event(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = Event(name=EventName.CONVERSATION_CREATED, topics=("conversation:x",), payload={})
    monkeypatch.setattr(emit, "_listeners", {})  # only this test's listener
    assert not listeners_want([probe])

    def listener(_session: object, _event: Event) -> None:
        return None

    verdicts: list[bool | None] = [False]
    add_transaction_listener(listener, wants=lambda _event: verdicts[0])
    assert not listeners_want([probe])
    assert not listeners_want([])
    verdicts[0] = None  # stale: cannot tell
    assert listeners_want([probe])
    verdicts[0] = True
    assert listeners_want([probe])
    remove_transaction_listener(listener)
    add_transaction_listener(listener)  # no `wants`: assumed to act on every event
    assert listeners_want([probe])
