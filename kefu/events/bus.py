"""The event bus: typed events over a PubSub, plus the process-wide instance."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import structlog
from pydantic import ValidationError

from kefu.events.log import EventLog, MemoryEventLog
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import PubSub, Subscription
from kefu.pubsub.local import LocalSubscription
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
# Every local subscriber of a channel is handed the same message: the first one decodes it, the
# others share that (immutable) Event. Recent messages are enough: subscribers are at most a few
# hundred messages behind.
DECODED_CACHE = 512
_decoded: dict[bytes, Event] = {}


def decode_event(data: bytes) -> Event:
    """`Event.from_json(data)`, once per process for the same message; ValidationError as it."""
    event = _decoded.get(data)
    if event is None:
        event = Event.from_json(data)
        _decoded[data] = event
        if len(_decoded) > DECODED_CACHE:
            del _decoded[next(iter(_decoded))]
    return event


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
        self,
        topics: Iterable[str],
        *,
        after: str | None = None,
        hold: Callable[[Event, bool], bool] | None = None,
        replay_also: Iterable[str] = (),
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """Listen to `topics`; yields an iterator of events, each at most once, skipping garbage.

        With `after` (a log position), first replays the logged events after it that were sent to
        `topics`, then continues live with nothing missed in between. Raises ResyncRequired (on
        entry) when the log cannot tell what happened since `after`.

        `hold`: called with each live event as it is published, and whether nothing is queued before
        it; the events it takes over (True) are not queued for the iterator. Synchronous and cheap: it
        runs once per event per subscriber, without waking the subscriber's task.

        `replay_also`: topics whose logged events after `after` are replayed too, without listening
        to them live (a client catching up on what another listener of this process follows live).
        """
        wanted = list(dict.fromkeys(topics))
        channels = [self._prefix + topic for topic in wanted]
        if not channels:
            raise ValueError("subscribe needs at least one topic")
        # Live first, replay second: whatever is published meanwhile is in one or both, and the
        # event-id filter drops the duplicate.
        async with self.pubsub.subscribe(*channels) as subscription:
            replayed = frozenset((*wanted, *replay_also))
            backlog = deque([] if after is None else await self._replay(after, replayed))
            if hold is not None and isinstance(subscription, LocalSubscription):
                subscription.hold = _holding(hold, subscription, backlog)
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
                event = decode_event(data)
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


def _holding(
    hold: Callable[[Event, bool], bool], subscription: LocalSubscription, backlog: deque[Event]
) -> Callable[[str, bytes], bool]:
    def held(_channel: str, data: bytes) -> bool:
        try:
            return hold(decode_event(data), not subscription.queued and not backlog)
        except ValidationError:
            return False  # queued, then logged and skipped by the iterator

    return held


async def _events(subscription: Subscription, backlog: deque[Event]) -> AsyncGenerator[Event]:
    seen: OrderedDict[str, None] = OrderedDict()
    while backlog:
        event = backlog[0]
        seen[event.id] = None
        yield event
        backlog.popleft()  # after: a hold meanwhile must not count it as taken
    while len(seen) > RECENT_IDS:
        seen.popitem(last=False)
    async for channel, data in subscription:
        try:
            event = decode_event(data)
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
