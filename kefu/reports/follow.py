"""Reports listen to the domain's events, so the dashboards follow within seconds.

Every conversation event reaches the `conversations:all` topic of the event bus and every message
event `messages:all` (in process, or over Redis between nodes). The worker that runs this loop hears
them and, a few seconds after a burst of them, runs the same watermark refresh the minute job runs.
The events only say *when* to look: what changed is read from the durable rows (conversations,
messages, ratings, bot outcomes). So an event lost on the way (a restart, a Redis reconnect) delays
a figure until the next minute's refresh and never loses it, and a second worker doing the same
finds the refresh lock taken and skips.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.conversations.recipients import MESSAGES_TOPIC
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.events.bus import EventBus
from kefu.events.names import EventName
from kefu.pubsub.base import SubscriptionLost
from kefu.reports.refresh import do_refresh_reports

log = structlog.get_logger(__name__)

ALL_CONVERSATIONS_TOPIC: Final = "conversations:all"
# Wait this long after the first event of a burst, so one refresh covers the whole burst.
DEBOUNCE_SECONDS: Final = 5.0
RECONNECT_SECONDS: Final = 1.0
REPORTED_EVENTS: Final = frozenset(
    {EventName.CONVERSATION_CREATED, EventName.CONVERSATION_UPDATED, EventName.MESSAGE_CREATED}
)


async def follow_domain_events(
    bus: EventBus,
    sessionmaker: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    *,
    debounce: float = DEBOUNCE_SECONDS,
) -> None:
    """Refresh the reports shortly after conversations change, until `stop` is set."""
    changed = asyncio.Event()
    listener = asyncio.create_task(_listen(bus, changed, stop), name="kefu-reports-listener")
    try:
        while await _wait_for(changed, stop):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), debounce)
            if stop.is_set():
                return
            changed.clear()
            try:
                async with transaction(sessionmaker) as session:
                    await do_refresh_reports(session, utcnow())
            except Exception:
                # The minute job will try again; this loop must outlive a database hiccup.
                log.exception("reports_follow_refresh_failed")
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def _listen(bus: EventBus, changed: asyncio.Event, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with bus.subscribe([ALL_CONVERSATIONS_TOPIC, MESSAGES_TOPIC]) as events:
                async for event in events:
                    if event.name in REPORTED_EVENTS:
                        changed.set()
        except SubscriptionLost:
            # Missed events are harmless (the refresh reads the database); listen again.
            changed.set()
        await asyncio.sleep(RECONNECT_SECONDS)


async def _wait_for(first: asyncio.Event, second: asyncio.Event) -> bool:
    """Wait until `first` is set (True) or `second` is (False; it wins when both are)."""
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    return first.is_set() and not second.is_set()
