"""Events reach subscribed endpoints through the outbox: signed, exactly once, never after a rollback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from kefu.conversations.actions import do_add_message
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate, CustomerIn
from kefu.conversations.states import MessageKind
from kefu.conversations.timeline import NewMessage
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings
from kefu.storage.envelope import Keyring
from kefu.trust.keys import keyring_from_settings
from kefu.webhooks import listeners
from kefu.webhooks.actions import rotate_endpoint_secrets
from kefu.webhooks.delivery import DISABLE_AFTER_FAILED_DELIVERIES, USER_AGENT, retry_floor
from kefu.webhooks.listeners import MAX_ATTEMPTS
from kefu.webhooks.models import DeliveryStatus, WebhookEndpoint
from kefu.webhooks.netguard import NetGuard
from kefu.webhooks.schemas import WebhookEvent
from kefu.webhooks.signing import open_secret, sign
from tests.channels.standin_server import serve
from tests.conftest import Database
from tests.factories import make_agent
from tests.webhooks.helpers import (
    PUBLIC_IP,
    Receiver,
    connector_to,
    deliveries,
    job_count,
    make_admin,
    make_endpoint,
    make_worker,
    open_conversation,
    resolver_of,
    run_jobs,
)


@pytest.fixture(autouse=True)
def _installed() -> None:
    listeners.install()


@pytest.fixture
def private_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private_networks": True})


@pytest.fixture
def keyring(settings: Settings) -> Keyring:
    return keyring_from_settings(settings)


async def test_an_event_is_delivered_once_signed_even_after_two_failures(
    db: Database, private_settings: Settings, keyring: Keyring
) -> None:
    receiver = Receiver(answers=[500, 429])
    async with serve(receiver.app()) as base:
        admin = await make_admin(db)
        endpoint_id, secret = await make_endpoint(
            db, admin, keyring, f"{base}/hooks", events=(WebhookEvent.CONVERSATION_CREATED,)
        )
        receiver.secret = secret
        agent = await make_agent(db.sessionmaker, "li@kefu.test")
        conversation = await open_conversation(db, agent)
        [queued] = await deliveries(db)
        assert queued.status == DeliveryStatus.PENDING
        assert await job_count(db) == 1
        worker = make_worker(db, private_settings, keyring, NetGuard(allow_private=True))
        await run_jobs(worker)
        await run_jobs(worker)
    assert [r.signature_ok for r in receiver.received] == [True, True, True]
    assert len({r.headers["kefu-webhook-id"] for r in receiver.received}) == 1
    last = receiver.received[-1]
    assert last.path == "/hooks"
    assert last.headers["user-agent"] == USER_AGENT
    assert last.headers["content-type"] == "application/json"
    assert last.headers["kefu-signature"] == sign(
        secret, int(last.headers["kefu-webhook-timestamp"]), last.body
    )
    body = json.loads(last.body)
    assert body["event"] == "conversation.created"
    assert body["id"] == last.headers["kefu-webhook-id"]
    assert body["data"]["conversation_id"] == str(conversation.id)
    assert body["data"]["reference"] == conversation.reference
    assert body["data"]["subject"] == "Withdrawal stuck"
    assert set(body) == {"id", "event", "occurred_at", "data"}
    [done] = await deliveries(db)
    assert done.status == DeliveryStatus.DELIVERED
    assert done.attempts == 3
    assert [a["status_code"] for a in done.attempt_log] == [500, 429, 200]
    assert done.response_excerpt == "answer 200"
    assert done.endpoint_id == endpoint_id
    async with db.sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


async def test_a_rolled_back_change_sends_nothing(db: Database, keyring: Keyring) -> None:
    admin = await make_admin(db)
    await make_endpoint(db, admin, keyring, f"http://{PUBLIC_IP}:8080/hooks")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")

    class Abandon(Exception):
        pass

    async def open_then_abandon() -> None:
        async with transaction(db.sessionmaker) as session:
            await do_create_conversation(
                session,
                agent.actor,
                ConversationCreate(body="Help", customer=CustomerIn(email="amy@example.com")),
                channel=ChannelKind.API,
            )
            raise Abandon

    with pytest.raises(Abandon):
        await open_then_abandon()
    assert await deliveries(db) == []
    assert await job_count(db) == 0
    # The session's next transaction does not inherit the abandoned events either.
    async with db.sessionmaker() as session:
        assert (await session.scalars(select(Conversation))).all() == []


async def test_without_endpoints_nothing_is_written(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await open_conversation(db, agent)
    assert await deliveries(db) == []
    assert await job_count(db) == 0


async def test_internal_notes_go_only_to_endpoints_that_opted_in(db: Database, keyring: Keyring) -> None:
    admin = await make_admin(db)
    public_only, _ = await make_endpoint(
        db, admin, keyring, f"http://{PUBLIC_IP}/a", events=(WebhookEvent.MESSAGE_CREATED,)
    )
    everything, _ = await make_endpoint(
        db,
        admin,
        keyring,
        f"http://{PUBLIC_IP}/b",
        events=(WebhookEvent.MESSAGE_CREATED,),
        include_internal=True,
    )
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conversation = await open_conversation(db, agent)
    for kind, text in ((MessageKind.NOTE, "Customer seems legit"), (MessageKind.REPLY, "We are on it")):
        async with transaction(db.sessionmaker) as session:
            found = await session.get(Conversation, conversation.id)
            assert found is not None
            await do_add_message(
                session, agent.actor, found, NewMessage(body=text, kind=kind), channel=ChannelKind.API
            )
    rows = await deliveries(db)
    by_endpoint: dict[object, list[str]] = {}
    for row in rows:
        by_endpoint.setdefault(row.endpoint_id, []).append(row.body["data"]["message"]["body"])
    # The first message (the customer's) is a reply too; the note reaches only the opted-in endpoint.
    assert "Customer seems legit" not in by_endpoint[public_only]
    assert "We are on it" in by_endpoint[public_only]
    assert "Customer seems legit" in by_endpoint[everything]
    # One delivery per message: the customer's copy of a reply is not sent again.
    assert len(by_endpoint[public_only]) == len(set(by_endpoint[public_only]))
    assert all(row.event_name == "message.created" for row in rows)


@pytest.mark.parametrize(("status", "expected"), [(404, DeliveryStatus.FAILED), (410, DeliveryStatus.FAILED)])
async def test_refusals_are_not_retried_and_gone_disables(
    db: Database, settings: Settings, keyring: Keyring, status: int, expected: DeliveryStatus
) -> None:
    receiver = Receiver(answers=[status])
    async with serve(receiver.app()) as base:
        admin = await make_admin(db)
        endpoint_id, receiver.secret = await make_endpoint(
            db,
            admin,
            keyring,
            "http://hooks.example.com:8080/x",
            events=(WebhookEvent.CONVERSATION_CREATED,),
            guard=_guard_to(base),
        )
        agent = await make_agent(db.sessionmaker, "li@kefu.test")
        await open_conversation(db, agent)
        await run_jobs(make_worker(db, settings, keyring, _guard_to(base)))
    assert len(receiver.received) == 1
    [delivery] = [d for d in await deliveries(db) if d.event_name == "conversation.created"]
    assert delivery.status == expected
    assert delivery.attempts == 1
    async with db.sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert endpoint.is_active is (status != 410)
        assert endpoint.consecutive_failures >= 1
        if status == 410:
            assert endpoint.disabled_reason == "the receiver answered 410 Gone"


async def test_many_failed_deliveries_in_a_row_disable_the_endpoint(
    db: Database, settings: Settings, keyring: Keyring
) -> None:
    receiver = Receiver(answers=[400] * (DISABLE_AFTER_FAILED_DELIVERIES + 5))
    async with serve(receiver.app()) as base:
        admin = await make_admin(db)
        endpoint_id, receiver.secret = await make_endpoint(
            db,
            admin,
            keyring,
            "http://hooks.example.com:8080/x",
            events=(WebhookEvent.CONVERSATION_CREATED,),
            guard=_guard_to(base),
        )
        agent = await make_agent(db.sessionmaker, "li@kefu.test")
        for number in range(DISABLE_AFTER_FAILED_DELIVERIES + 2):
            await open_conversation(db, agent, subject=f"Case {number}")
        await run_jobs(make_worker(db, settings, keyring, _guard_to(base)))
    assert len(receiver.received) == DISABLE_AFTER_FAILED_DELIVERIES
    rows = await deliveries(db)
    assert all(row.status == DeliveryStatus.FAILED for row in rows)
    assert sum(1 for row in rows if row.error == "the endpoint is disabled") == 2
    async with db.sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert endpoint.is_active is False
        assert endpoint.disabled_reason == f"{DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row failed"


def _guard_to(base: str) -> NetGuard:
    """A guard that vets `hooks.example.com` as a public address and connects it to `base`."""
    return NetGuard(resolver=resolver_of({"hooks.example.com": [PUBLIC_IP]}), connector=connector_to(base))


def test_the_retry_schedule_doubles_to_six_hours() -> None:
    waits = [retry_floor(attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert waits[:4] == [30, 60, 120, 240]
    assert max(waits) == 6 * 3600
    assert 30 * 3600 < sum(waits) < 48 * 3600


async def test_without_endpoints_the_cost_is_one_cached_read(db: Database, keyring: Keyring) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await open_conversation(db, agent)
        warm = [s for s in seen if "webhook_endpoints" in s]
        seen.clear()
        await open_conversation(db, agent, subject="Second")
        assert [s for s in seen if "webhook" in s] == []
    finally:
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert len(warm) == 1
    # A new endpoint is seen at once by this process (the cache is dropped on the write).
    admin = await make_admin(db)
    await make_endpoint(
        db, admin, keyring, f"http://{PUBLIC_IP}/x", events=(WebhookEvent.CONVERSATION_CREATED,)
    )
    await open_conversation(db, agent, subject="Third")
    [delivery] = await deliveries(db)
    assert delivery.body["data"]["subject"] == "Third"


async def test_signing_secrets_follow_a_master_key_rotation(db: Database) -> None:
    old = Keyring({"k1": b"\x01" * 32}, "k1")
    admin = await make_admin(db)
    endpoint_id, secret = await make_endpoint(db, admin, old, f"http://{PUBLIC_IP}/x")
    rotated = Keyring({"k2": b"\x02" * 32, "k1": b"\x01" * 32}, "k2")
    async with transaction(db.sessionmaker) as session:
        assert await rotate_endpoint_secrets(session, rotated) == (1, [])
    async with transaction(db.sessionmaker) as session:
        assert await rotate_endpoint_secrets(session, rotated) == (0, [])
        assert await rotate_endpoint_secrets(session, Keyring({"k3": b"\x03" * 32}, "k3")) == (
            0,
            [endpoint_id],
        )
    async with db.sessionmaker() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        assert open_secret(Keyring({"k2": b"\x02" * 32}, "k2"), endpoint_id, row.secret_sealed) == secret


async def test_a_host_that_now_resolves_privately_fails_at_delivery(
    db: Database, settings: Settings, keyring: Keyring
) -> None:
    receiver = Receiver()
    async with serve(receiver.app()) as base:
        admin = await make_admin(db)
        await make_endpoint(
            db,
            admin,
            keyring,
            "http://hooks.example.com:8080/x",
            events=(WebhookEvent.CONVERSATION_CREATED,),
            guard=_guard_to(base),
        )
        agent = await make_agent(db.sessionmaker, "li@kefu.test")
        await open_conversation(db, agent)
        rebound = NetGuard(
            resolver=resolver_of({"hooks.example.com": ["169.254.169.254"]}), connector=connector_to(base)
        )
        await run_jobs(make_worker(db, settings, keyring, rebound))
    assert receiver.received == []
    [delivery] = await deliveries(db)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.error == "refused: the URL's host resolves to a link-local address"


async def test_an_endpoint_failing_for_three_days_is_disabled(
    db: Database, settings: Settings, keyring: Keyring
) -> None:
    receiver = Receiver(answers=[503, 503])
    async with serve(receiver.app()) as base:
        admin = await make_admin(db)
        endpoint_id, receiver.secret = await make_endpoint(
            db,
            admin,
            keyring,
            "http://hooks.example.com:8080/x",
            events=(WebhookEvent.CONVERSATION_CREATED,),
            guard=_guard_to(base),
        )
        async with transaction(db.sessionmaker) as session:
            endpoint = await session.get(WebhookEndpoint, endpoint_id)
            assert endpoint is not None
            endpoint.failing_since = utcnow() - timedelta(days=3, minutes=1)
        agent = await make_agent(db.sessionmaker, "li@kefu.test")
        await open_conversation(db, agent)
        await run_jobs(make_worker(db, settings, keyring, _guard_to(base)))
    assert len(receiver.received) == 1
    [delivery] = await deliveries(db)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "the endpoint is disabled"
    assert [a["status_code"] for a in delivery.attempt_log] == [503]
    async with db.sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert (endpoint.is_active, endpoint.disabled_reason) == (False, "deliveries failed for 3 days")
