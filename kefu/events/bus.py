"""The event bus: typed events over a PubSub, plus the process-wide instance."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import asynccontextmanager

import structlog
from pydantic import ValidationError

from kefu.events.log import EventLog, MemoryEventLog
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import PubSub, Subscription
from kefu.pubsub.memory import MemoryPubSub

log = structlog.get_logger(__name__)

DEFAULT_CHANNEL_PREFIX = "kefu:events:"
# An event sent to several topics of one subscriber arrives once per topic; remember recent ids.
RECENT_IDS = 1024
# Facts of the moment (who is typing, a session ended): worthless later, so never logged or replayed.
EPHEMERAL = frozenset({EventName.CONVERSATION_ACTIVITY, EventName.AGENT_SESSIONS_REVOKED})
# A client further behind than this reloads instead of replaying.
MAX_REPLAY = 5_000
REPLAY_PAGE = 500


class ResyncRequired(Exception):
    """The log no longer holds (or never held) the events after the client's position: reload."""


class EventBus:
    """Publishes each event to the channel of each of its topics."""

    def __init__(
        self,
        pubsub: PubSub,
        *,
        channel_prefix: str = DEFAULT_CHANNEL_PREFIX,
        log: EventLog | None = None,
    ) -> None:
        self.pubsub = pubsub
        self._prefix = channel_prefix
        self.log: EventLog = log if log is not None else MemoryEventLog(pubsub)

    async def publish(self, event: Event) -> None:
        """Send `event` to every subscriber of any of its topics; all but ephemeral ones are logged."""
        data = event.to_json()
        channels = [self._prefix + topic for topic in event.topics]
        if event.name in EPHEMERAL:
            for channel in channels:
                await self.pubsub.publish(channel, data)
            return
        await self.log.publish(data, channels)

    async def head(self) -> str:
        """The newest log position: a client starting now replays from here."""
        return await self.log.head()

    @asynccontextmanager
    async def subscribe(
        self, topics: Iterable[str], *, after: str | None = None
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """Listen to `topics`; yields an iterator of events, each at most once, skipping garbage.

        With `after` (a log position), first replays the logged events after it that were sent to
        `topics`, then continues live with nothing missed in between. Raises ResyncRequired (on
        entry) when the log cannot tell what happened since `after`.
        """
        wanted = list(dict.fromkeys(topics))
        channels = [self._prefix + topic for topic in wanted]
        if not channels:
            raise ValueError("subscribe needs at least one topic")
        # Live first, replay second: whatever is published meanwhile is in one or both, and the
        # event-id filter drops the duplicate.
        async with self.pubsub.subscribe(*channels) as subscription:
            backlog = [] if after is None else await self._replay(after, frozenset(wanted))
            events = _events(subscription, backlog)
            try:
                yield events
            finally:
                await events.aclose()

    async def _replay(self, after: str, topics: frozenset[str]) -> list[Event]:
        backlog: list[Event] = []
        position = after
        seen = 0
        while True:
            page = await self.log.read_after(position, REPLAY_PAGE)
            if page is None:
                raise ResyncRequired(f"events after {after} are no longer available")
            for data in page:
                event = Event.from_json(data)
                position = event.position or position
                if topics.intersection(event.topics):
                    backlog.append(event)
            seen += len(page)
            if len(page) < REPLAY_PAGE:
                return backlog
            if seen >= MAX_REPLAY:
                raise ResyncRequired(f"more than {MAX_REPLAY} events since {after}")

    async def close(self) -> None:
        """Close the underlying PubSub."""
        await self.pubsub.close()


async def _events(subscription: Subscription, backlog: list[Event]) -> AsyncGenerator[Event]:
    seen: OrderedDict[str, None] = OrderedDict()
    for event in backlog:
        seen[event.id] = None
        yield event
    while len(seen) > RECENT_IDS:
        seen.popitem(last=False)
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
