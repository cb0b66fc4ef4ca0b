"""One subscription per process for the console's list hints: new messages of unwatched conversations.

A staff `message.created` is published to its conversation's topic (the sockets watching it) and to
`MESSAGES_TOPIC`, which console sockets do not subscribe to. Offering every message to every socket
cost a sixth of a busy server (a hundred agent sockets, hundreds of messages a second), although
each socket sends at most one list hint a second (`INBOX_HINT_SECONDS`). Instead this feed hears
each message once, keeps the latest one per (team, assignee) — what decides who may see it — and
wakes only the sockets that are idle, waiting for their next hint. A woken socket sends, when its
second is up, the latest message it may see (`latest_for`), which stands for those before it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Final, Protocol
from weakref import WeakKeyDictionary

import structlog

from kefu.conversations.recipients import MESSAGES_TOPIC
from kefu.events.bus import EventBus
from kefu.events.log import Position, parse_position
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.base import SubscriptionLost

log = structlog.get_logger(__name__)

# Distinct (team, assignee) pairs remembered; the oldest is forgotten first (a hint only has to be
# recent enough to make the console refresh its lists).
LATEST_KEYS: Final = 1024
RESUBSCRIBE_SECONDS: Final = 0.5


class HintListener(Protocol):
    """A console socket, as the feed sees it."""

    def wants_hint(self, event: Event) -> bool:
        """Whether `event` is a list hint for this socket (visible, of a conversation not watched)."""
        ...

    def hint_arrived(self, event: Event) -> None:
        """A hint for this socket was published (called synchronously, in log order)."""
        ...


class InboxFeed:
    """The list-hint fan-out of one process's event bus (see the module docstring)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._listeners: set[HintListener] = set()
        self._idle: set[HintListener] = set()
        self._latest: OrderedDict[tuple[object, object], Event] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def attach(self, listener: HintListener) -> None:
        """Start telling `listener` of hints; returns once the feed hears the bus."""
        self._listeners.add(listener)
        self._idle.add(listener)
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kefu-inbox-feed")
        await self._ready.wait()

    async def detach(self, listener: HintListener) -> None:
        """Stop telling `listener`; the feed unsubscribes when nobody listens."""
        self._listeners.discard(listener)
        self._idle.discard(listener)
        if not self._listeners and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def idle(self, listener: HintListener) -> None:
        """`listener` has no hint pending: wake it with the next one it wants."""
        if listener in self._listeners:
            self._idle.add(listener)

    def latest_for(self, listener: HintListener, after: Position) -> Event | None:
        """The latest message heard after log position `after` that `listener` wants as a hint."""
        best: Event | None = None
        best_position = after
        for event in self._latest.values():
            assert event.position is not None
            position = parse_position(event.position)
            if position > best_position and listener.wants_hint(event):
                best, best_position = event, position
        return best

    def _hear(self, event: Event, _taken_up_to: bool = True) -> bool:
        """Called as each message is published (the bus `hold` hook): it is never queued."""
        if event.name != EventName.MESSAGE_CREATED or event.position is None:
            return True
        key = (event.payload.get("team_id"), event.payload.get("assignee_id"))
        self._latest[key] = event
        self._latest.move_to_end(key)
        if len(self._latest) > LATEST_KEYS:
            self._latest.popitem(last=False)
        if self._idle:
            for listener in [idle for idle in self._idle if idle.wants_hint(event)]:
                self._idle.discard(listener)
                listener.hint_arrived(event)
        return True

    async def _run(self) -> None:
        try:
            while True:
                try:
                    async with self._bus.subscribe([MESSAGES_TOPIC], hold=self._hear) as events:
                        self._ready.set()
                        async for event in events:  # only with a backend that cannot hold
                            self._hear(event)
                except SubscriptionLost as exc:
                    # Redis reconnected: hints meanwhile are lost, which only delays a list refresh.
                    log.info("inbox_feed_resubscribing", error=str(exc))
                await asyncio.sleep(RESUBSCRIBE_SECONDS)
        finally:
            self._ready.set()  # nobody waits for a feed that ended (the next attach starts another)


_feeds: WeakKeyDictionary[EventBus, InboxFeed] = WeakKeyDictionary()


def inbox_feed(bus: EventBus) -> InboxFeed:
    """The feed of `bus` (one per bus, so one per process)."""
    feed = _feeds.get(bus)
    if feed is None:
        feed = _feeds[bus] = InboxFeed(bus)
    return feed
