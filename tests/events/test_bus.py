"""The event bus over the in-memory PubSub (the PubSub contract itself is tested in tests/pubsub)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from structlog.testing import capture_logs

from kefu.events.bus import DEFAULT_CHANNEL_PREFIX, EventBus, get_bus, install_bus
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    bus = EventBus(MemoryPubSub())
    yield bus
    await bus.close()


@pytest.fixture
def restore_bus() -> Iterator[None]:
    previous = install_bus(None)
    yield
    install_bus(previous)


def event(*topics: str, n: int = 0) -> Event:
    return Event(name=EventName.MESSAGE_CREATED, topics=topics, payload={"n": n})


async def next_event(events: AsyncIterator[Event]) -> Event:
    async with asyncio.timeout(2):
        return await anext(events)


async def test_subscriber_receives_events_for_its_topics(bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1"]) as events:
        await bus.publish(event("conversation:2", n=1))
        await bus.publish(event("conversation:1", "inbox:9", n=2))
        received = await next_event(events)
        assert received.payload == {"n": 2}
        assert received.name is EventName.MESSAGE_CREATED


async def test_event_on_several_subscribed_topics_arrives_once(bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1", "inbox:9", "inbox:9"]) as events:
        first = event("conversation:1", "inbox:9", n=1)
        await bus.publish(first)
        await bus.publish(event("inbox:9", n=2))
        assert (await next_event(events)).id == first.id
        assert (await next_event(events)).payload == {"n": 2}


async def test_undecodable_messages_are_logged_and_skipped(bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1"]) as events:
        channel = DEFAULT_CHANNEL_PREFIX + "conversation:1"
        with capture_logs() as logs:
            await bus.pubsub.publish(channel, b"\xff garbage")
            await bus.pubsub.publish(channel, b'{"name": "nope", "topics": ["conversation:1"]}')
            await bus.publish(event("conversation:1", n=7))
            assert (await next_event(events)).payload == {"n": 7}
        assert [entry["event"] for entry in logs] == ["event_undecodable", "event_undecodable"]
        assert all(entry["log_level"] == "warning" for entry in logs)


async def test_subscribe_needs_topics(bus: EventBus) -> None:
    with pytest.raises(ValueError):
        async with bus.subscribe([]):
            pass


async def test_channel_prefix_separates_buses_sharing_a_pubsub() -> None:
    pubsub = MemoryPubSub()
    a, b = EventBus(pubsub, channel_prefix="a:"), EventBus(pubsub, channel_prefix="b:")
    async with a.subscribe(["team:1"]) as from_a:
        await b.publish(event("team:1", n=1))
        await a.publish(event("team:1", n=2))
        assert (await next_event(from_a)).payload == {"n": 2}
    await pubsub.close()


@pytest.mark.usefixtures("restore_bus")
def test_process_bus_is_created_lazily_and_replaceable() -> None:
    assert install_bus(None) is None  # nothing was created at import time
    default = get_bus()
    assert get_bus() is default
    assert isinstance(default.pubsub, MemoryPubSub)
    mine = EventBus(MemoryPubSub())
    assert install_bus(mine) is default
    assert get_bus() is mine
