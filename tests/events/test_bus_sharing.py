"""Subscribers of one process share each decoded event, and a `hold` takes live events over without
queueing them (the console's list hints)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kefu.events.bus import EventBus
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub
from tests.events.test_bus import next_event


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    bus = EventBus(MemoryPubSub())
    yield bus
    await bus.close()


async def test_subscribers_share_one_decoded_event(bus: EventBus) -> None:
    async with bus.subscribe(["conversations:all"]) as first, bus.subscribe(["conversations:all"]) as second:
        await bus.publish(Event(name=EventName.MESSAGE_CREATED, topics=("conversations:all",)))
        assert await next_event(first) is await next_event(second)


async def test_a_hold_takes_events_over_and_the_rest_are_queued(bus: EventBus) -> None:
    held: list[tuple[int, bool]] = []

    def hold(event: Event, nothing_queued: bool) -> bool:
        if event.name != EventName.MESSAGE_CREATED:
            return False
        held.append((int(event.payload["n"]), nothing_queued))
        return True

    async with bus.subscribe(["conversations:all"], hold=hold) as events:
        for n, name in enumerate(
            (EventName.MESSAGE_CREATED, EventName.CONVERSATION_UPDATED, EventName.MESSAGE_CREATED)
        ):
            await bus.publish(Event(name=name, topics=("conversations:all",), payload={"n": n}))
        # The update was queued before the second message: that one may not be counted as taken.
        assert held == [(0, True), (2, False)]
        updated = await next_event(events)
        assert (updated.name, updated.payload["n"]) == (EventName.CONVERSATION_UPDATED, 1)
        await bus.publish(
            Event(name=EventName.MESSAGE_CREATED, topics=("conversations:all",), payload={"n": 3})
        )
        assert held[-1] == (3, True)
