"""The event log and resuming a subscription from a position, on memory and on a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from kefu.events.bus import MAX_REPLAY, EventBus, ResyncRequired
from kefu.events.log import MemoryEventLog, RedisEventLog, parse_position, with_position
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub
from kefu.pubsub.redis import RedisPubSub


def event(*topics: str, n: int = 0, name: EventName = EventName.MESSAGE_CREATED) -> Event:
    return Event(name=name, topics=topics, payload={"n": n})


async def take(events: AsyncIterator[Event], count: int) -> list[Event]:
    async with asyncio.timeout(3):
        return [await anext(events) for _ in range(count)]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "memory":
        pubsub = MemoryPubSub()
        bus = EventBus(pubsub, log=MemoryEventLog(pubsub, retain=50))
        yield bus
        await bus.close()
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"kefu-test-{uuid.uuid4().hex}:"
    log = RedisEventLog(url, retain=50, key=prefix + "log")
    bus = EventBus(RedisPubSub(url), channel_prefix=prefix, log=log)
    yield bus
    await bus.close()
    await log.close()


def test_positions_parse_strictly() -> None:
    assert parse_position("17-3") == (17, 3)
    for bad in ["", "17", "-1-2", "1-2-3", "a-b", "1" * 21 + "-0", "1 -2", "١-٢"]:
        with pytest.raises(ValueError):
            parse_position(bad)


def test_position_is_spliced_into_the_object() -> None:
    assert with_position(b'{"a":1}', "5-0") == b'{"position":"5-0","a":1}'
    for bad in [b"", b"{}", b"[1]"]:
        with pytest.raises(ValueError):
            with_position(bad, "1-0")


async def test_live_events_carry_increasing_positions(bus: EventBus) -> None:
    async with bus.subscribe(["team:1"]) as events:
        for n in range(3):
            await bus.publish(event("team:1", n=n))
        received = await take(events, 3)
    positions = [parse_position(e.position or "") for e in received]
    assert positions == sorted(positions)
    assert len(set(positions)) == 3
    assert [e.payload["n"] for e in received] == [0, 1, 2]
    assert received[-1].position == await bus.head()


async def test_resume_replays_missed_events_for_my_topics_then_goes_live(bus: EventBus) -> None:
    async with bus.subscribe(["team:1"]) as events:
        await bus.publish(event("team:1", n=1))
        (seen,) = await take(events, 1)
    # Disconnected: these happen while nobody listens.
    await bus.publish(event("team:1", n=2))
    await bus.publish(event("team:2", n=99))  # not mine: not replayed
    await bus.publish(event("team:1", "agent:7", n=3))
    assert seen.position is not None
    async with bus.subscribe(["team:1", "agent:7"], after=seen.position) as events:
        await bus.publish(event("agent:7", n=4))
        received = await take(events, 3)
    assert [e.payload["n"] for e in received] == [2, 3, 4]


async def test_resume_from_head_replays_nothing(bus: EventBus) -> None:
    await bus.publish(event("team:1", n=1))
    head = await bus.head()
    async with bus.subscribe(["team:1"], after=head) as events:
        await bus.publish(event("team:1", n=2))
        (received,) = await take(events, 1)
    assert received.payload == {"n": 2}


async def test_ephemeral_events_are_delivered_live_but_never_replayed(bus: EventBus) -> None:
    start = await bus.head()
    async with bus.subscribe(["conversation:1"]) as events:
        await bus.publish(event("conversation:1", n=1, name=EventName.CONVERSATION_ACTIVITY))
        (live,) = await take(events, 1)
    assert live.position is None
    assert await bus.head() == start
    await bus.publish(event("conversation:1", n=2))
    async with bus.subscribe(["conversation:1"], after=start) as events:
        (replayed,) = await take(events, 1)
    assert replayed.payload == {"n": 2}


async def test_a_trimmed_position_requires_a_resync(bus: EventBus) -> None:
    await bus.publish(event("team:1", n=0))
    old = await bus.head()
    for n in range(400):  # far beyond retain=50 (Redis trims approximately, in whole nodes)
        await bus.publish(event("team:9", n=n))
    with pytest.raises(ResyncRequired):
        async with bus.subscribe(["team:1"], after=old):
            pass


async def test_a_position_from_another_log_requires_a_resync(bus: EventBus) -> None:
    await bus.publish(event("team:1"))
    major, _ = parse_position(await bus.head())
    with pytest.raises(ResyncRequired):
        async with bus.subscribe(["team:1"], after=f"{major + 10**6}-0"):
            pass


async def test_too_long_a_backlog_requires_a_resync() -> None:
    pubsub = MemoryPubSub()
    bus = EventBus(pubsub, log=MemoryEventLog(pubsub, retain=MAX_REPLAY * 2))
    start = await bus.head()
    for n in range(MAX_REPLAY + 10):
        await bus.publish(event("team:1", n=n))
    with pytest.raises(ResyncRequired):
        async with bus.subscribe(["team:1"], after=start):
            pass
    await bus.close()


async def test_events_published_while_replaying_arrive_exactly_once(bus: EventBus) -> None:
    start = await bus.head()
    for n in range(20):
        await bus.publish(event("team:1", n=n))

    async def more() -> None:
        for n in range(20, 40):
            await bus.publish(event("team:1", n=n))

    async with bus.subscribe(["team:1"], after=start) as events:
        await more()
        received = await take(events, 40)
    assert sorted(e.payload["n"] for e in received) == list(range(40))
