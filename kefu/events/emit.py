"""Publish events only once the change they describe is durable."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit
from kefu.events.bus import get_bus
from kefu.events.types import Event

# Called synchronously, inside the transaction, for every event emitted (e.g. outbound webhooks turn
# them into outbox rows). A listener must be cheap and must not do I/O: it may only note the event on
# the session (session.info) or add rows to it.
TransactionListener = Callable[[AsyncSession, Event], None]
_listeners: list[TransactionListener] = []


def add_transaction_listener(listener: TransactionListener) -> None:
    """Call `listener(session, event)` for every event emitted in this process (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_transaction_listener(listener: TransactionListener) -> None:
    """Stop calling `listener` (tests)."""
    if listener in _listeners:
        _listeners.remove(listener)


def emit_on_commit(session: AsyncSession, event: Event) -> None:
    """Publish `event` on the process bus after `session`'s transaction commits; dropped on rollback."""
    for listener in _listeners:
        listener(session, event)

    async def publish() -> None:
        await get_bus().publish(event)

    after_commit(session, publish)
