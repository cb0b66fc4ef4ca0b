"""Publish events only once the change they describe is durable."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit
from kefu.events.bus import EventBus, get_bus
from kefu.events.types import Event

log = structlog.get_logger(__name__)

# Called synchronously, inside the transaction, for every event emitted (e.g. outbound webhooks turn
# them into outbox rows). A listener must be cheap and must not do I/O: it may only note the event on
# the session (session.info) or add rows to it.
TransactionListener = Callable[[AsyncSession, Event], None]
# Whether a listener would act on an event, known without I/O (None: cannot tell now). Writes that
# skip the ORM transaction (kefu.conversations.quick_open) ask before they emit nothing through it.
ListenerWants = Callable[[Event], "bool | None"]
_listeners: dict[TransactionListener, ListenerWants | None] = {}


def add_transaction_listener(listener: TransactionListener, *, wants: ListenerWants | None = None) -> None:
    """Call `listener(session, event)` for every event emitted in this process (idempotent).

    `wants` tells, without I/O, whether the listener would act on an event; without it, the
    listener is assumed to act on every event.
    """
    _listeners[listener] = wants


def remove_transaction_listener(listener: TransactionListener) -> None:
    """Stop calling `listener` (tests)."""
    _listeners.pop(listener, None)


def listeners_want(events: Iterable[Event]) -> bool:
    """Whether any transaction listener would act on any of `events` (True when one cannot tell)."""
    for wants in _listeners.values():
        if wants is None or any(wants(event) is not False for event in events):
            return True
    return False


def emit_on_commit(session: AsyncSession, event: Event) -> None:
    """Publish `event` on the process bus after `session`'s transaction commits; dropped on rollback."""
    for listener in _listeners:
        listener(session, event)

    async def publish() -> None:
        await get_bus().publish(event)

    after_commit(session, publish)


async def publish_durable(events: Iterable[Event], bus: EventBus | None = None) -> None:
    """Publish the events of a change that is durable already (written outside any ORM transaction);
    a failure is logged, as for `emit_on_commit`'s hooks: events only wake readers, who catch up on
    their next event or safety read, so a bus that is down must not fail the write."""
    events = tuple(events)
    bus = bus or get_bus()
    try:
        for event in events:
            await bus.publish(event)
    except Exception:
        log.exception("publish_failed", events=len(events))
