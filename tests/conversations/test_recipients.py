"""Who hears about what, end to end over the real event bus (in-process and Redis).

Staff topics get every change; the customer's topic gets replies only, never internal notes or events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.conversations.recipients import customer_topic, staff_topic
from kefu.events.bus import EventBus, install_bus
from kefu.events.types import Event
from kefu.pubsub.redis import RedisPubSub
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent, make_customer, open_conversation


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest, runtime: Runtime) -> AsyncIterator[EventBus]:
    """The process bus the app publishes on: the runtime's in-memory one, or one over real Redis."""
    if request.param == "memory":
        yield runtime.bus
        return
    url: str = request.getfixturevalue("redis_url")
    pubsub = RedisPubSub(url)
    redis_bus = EventBus(pubsub, channel_prefix=f"kefu-test-{uuid.uuid4().hex}:")
    previous = install_bus(redis_bus)
    yield redis_bus
    install_bus(previous)
    await pubsub.close()


async def _drain(events: AsyncIterator[Event], *, settle: float = 0.3) -> list[Event]:
    seen: list[Event] = []
    while True:
        try:
            seen.append(await asyncio.wait_for(anext(events), timeout=settle))
        except TimeoutError:
            return seen


async def test_notes_and_events_never_reach_the_customer_topic(
    client: httpx.AsyncClient, db: Database, runtime: Runtime, bus: EventBus
) -> None:
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conv = await open_conversation(client, customer)
    conversation_id = uuid.UUID(str(conv["id"]))
    url = f"/api/v1/conversations/{conversation_id}"
    async with (
        bus.subscribe([staff_topic(conversation_id)]) as staff,
        bus.subscribe([customer_topic(conversation_id)]) as mine,
    ):
        await client.post(f"{url}/messages", json={"body": "internal", "kind": "note"}, headers=agent.headers)
        await client.patch(url, json={"priority": "high"}, headers=agent.headers)
        await client.post(f"{url}/messages", json={"body": "public reply"}, headers=agent.headers)
        staff_events = await _drain(staff)
        customer_events = await _drain(mine)

    staff_kinds = [(e.name.value, e.payload.get("kind")) for e in staff_events]
    assert ("message.created", "note") in staff_kinds
    assert ("message.created", "event") in staff_kinds
    assert ("message.created", "reply") in staff_kinds
    assert ("conversation.updated", None) in staff_kinds
    assert [(e.name.value, e.payload["kind"]) for e in customer_events] == [("message.created", "reply")]
    # Payloads carry ids and seqs only: subscribers fetch through the access gates.
    assert set(customer_events[0].payload) == {"conversation_id", "message_id", "seq", "kind"}


async def test_nothing_is_published_for_a_refused_change(
    client: httpx.AsyncClient, db: Database, runtime: Runtime, bus: EventBus
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conv = await open_conversation(client, agent)
    conversation_id = uuid.UUID(str(conv["id"]))
    url = f"/api/v1/conversations/{conversation_id}"
    await client.patch(url, json={"status": "closed"}, headers=agent.headers)
    async with bus.subscribe([staff_topic(conversation_id)]) as staff:
        refused = await client.post(f"{url}/messages", json={"body": "too late"}, headers=agent.headers)
        assert refused.status_code == 409
        assert await _drain(staff) == []
