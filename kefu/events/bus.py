"""The event bus: typed events over a PubSub, plus the process-wide instance."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import asynccontextmanager

import structlog
from pydantic import ValidationError

from kefu.events.types import Event
from kefu.pubsub.base import PubSub, Subscription
from kefu.pubsub.memory import MemoryPubSub

log = structlog.get_logger(__name__)

DEFAULT_CHANNEL_PREFIX = "kefu:events:"
# An event sent to several topics of one subscriber arrives once per topic; remember recent ids.
RECENT_IDS = 1024


class EventBus:
    """Publishes each event to the channel of each of its topics."""

    def __init__(self, pubsub: PubSub, *, channel_prefix: str = DEFAULT_CHANNEL_PREFIX) -> None:
        self.pubsub = pubsub
        self._prefix = channel_prefix

    async def publish(self, event: Event) -> None:
        """Send `event` to every subscriber of any of its topics (best effort, no persistence)."""
        data = event.to_json()
        for topic in event.topics:
            await self.pubsub.publish(self._prefix + topic, data)

    @asynccontextmanager
    async def subscribe(self, topics: Iterable[str]) -> AsyncIterator[AsyncIterator[Event]]:
        """Listen to `topics`; yields an iterator of events, each at most once, skipping garbage."""
        channels = [self._prefix + topic for topic in dict.fromkeys(topics)]
        if not channels:
            raise ValueError("subscribe needs at least one topic")
        async with self.pubsub.subscribe(*channels) as subscription:
            events = _events(subscription)
            try:
                yield events
            finally:
                await events.aclose()

    async def close(self) -> None:
        """Close the underlying PubSub."""
        await self.pubsub.close()


async def _events(subscription: Subscription) -> AsyncGenerator[Event]:
    seen: OrderedDict[str, None] = OrderedDict()
    async for channel, data in subscription:
        try:
            event = Event.from_json(data)
        except ValidationError as exc:
            # Another version or a stray publisher; one bad message must not end the stream.
            log.warning("event_undecodable", channel=channel, size=len(data), errors=exc.error_count())
            continue
        if event.id in seen:
            continue
        seen[event.id] = None
        if len(seen) > RECENT_IDS:
            seen.popitem(last=False)
        yield event


_bus: EventBus | None = None


def install_bus(bus: EventBus | None) -> EventBus | None:
    """Install the process-wide bus (start-up, tests); returns the previous one. None resets it."""
    global _bus
    previous, _bus = _bus, bus
    return previous


def get_bus() -> EventBus:
    """The process-wide bus; an in-memory one is created on first use if none was installed."""
    global _bus
    if _bus is None:
        _bus = EventBus(MemoryPubSub())
    return _bus
