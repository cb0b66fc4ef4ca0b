"""Events become webhook deliveries inside the transaction that caused them (the outbox).

`emit_on_commit` hands every event to `note_event`, which only remembers it on the session. When the
session commits, `before_commit` turns the remembered events into one `webhook_deliveries` row and one
`webhook.deliver` outbox job per subscribed endpoint, in that same transaction: a rolled-back change
sends nothing, a committed one is never lost. With no active endpoint (read from a per-process cache,
like triggers) nothing is written, so the cost without webhooks is a list append per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.db.cache import ConfigCache, invalidate_on_change
from kefu.db.uow import after_commit
from kefu.events.emit import add_transaction_listener
from kefu.events.types import Event
from kefu.jobs.enqueue import poke_workers
from kefu.jobs.models import JobStatus, OutboxJob
from kefu.jobs.names import JobName
from kefu.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.schemas import WebhookEvent

WEBHOOK_DELIVER: Final = JobName.WEBHOOK_DELIVER.value
# Tries per delivery (the waits between them: kefu.webhooks.delivery.retry_floor, about a day and a
# half in all); docs/webhooks.md lists the schedule.
MAX_ATTEMPTS: Final = 16
_PENDING: Final = "kefu.webhooks.pending"
_SUBSCRIBABLE: Final = frozenset(e.value for e in WebhookEvent)
_INTERNAL_KINDS: Final = frozenset({MessageKind.NOTE.value, MessageKind.EVENT.value})


@dataclass(frozen=True)
class ActiveEndpoint:
    id: uuid.UUID
    events: frozenset[str]
    include_internal: bool

    def wants(self, event: Event) -> bool:
        """Whether this endpoint subscribes to `event` (internal messages only when it opted in)."""
        if event.name.value not in self.events:
            return False
        internal = (
            event.name.value == WebhookEvent.MESSAGE_CREATED.value
            and event.payload.get("kind") in _INTERNAL_KINDS
        )
        return self.include_internal or not internal


class _EndpointCache(ConfigCache[tuple[ActiveEndpoint, ...]]):
    """The active endpoints, read synchronously (the commit hook cannot await)."""

    def get_sync(self, session: Session) -> tuple[ActiveEndpoint, ...]:
        now = self._clock()
        found = self._values.get(None)
        if found is not None and found[0] > now:
            return found[1]
        generation = self._generation
        value = _endpoints(session.execute(_ACTIVE).all())
        if generation == self._generation:
            self._values[None] = (now + self.ttl, value)
        return value


_ACTIVE = select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.include_internal).where(
    WebhookEndpoint.is_active.is_(True)
)


def _endpoints(rows: Iterable[Any]) -> tuple[ActiveEndpoint, ...]:
    return tuple(ActiveEndpoint(row[0], frozenset(row[1] or ()), bool(row[2])) for row in rows)


async def load_endpoints(session: AsyncSession) -> tuple[ActiveEndpoint, ...]:
    """The active endpoints, read now (the loader of `ACTIVE_ENDPOINTS.get`)."""
    return _endpoints((await session.execute(_ACTIVE)).all())


ACTIVE_ENDPOINTS: Final = _EndpointCache("webhook_endpoints")
invalidate_on_change(ACTIVE_ENDPOINTS, [WebhookEndpoint])


@dataclass
class _Pending:
    session: AsyncSession
    events: list[Event] = field(default_factory=list)


def _noted(event: Event) -> bool:
    # The customer's copy of a reply repeats the staff event: send each message once.
    return event.name.value in _SUBSCRIBABLE and any(
        topic.startswith("conversation:") for topic in event.topics
    )


def note_event(session: AsyncSession, event: Event) -> None:
    """Transaction listener: remember a staff-side conversation or message event for the commit."""
    if not _noted(event):
        return
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Pending(session)
    pending.events.append(event)


def _iso(value: object) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def event_data(session: Session, event: Event) -> dict[str, Any]:
    """The `data` of a webhook: the event's facts plus the fields integrations need (no I/O when the
    rows are in the session, as they are right after the change)."""
    data: dict[str, Any] = dict(event.payload)
    conversation_id = data.get("conversation_id")
    conversation = session.get(Conversation, uuid.UUID(str(conversation_id))) if conversation_id else None
    if conversation is not None:
        data.update(
            subject=conversation.subject,
            channel=str(conversation.channel),
            category=str(conversation.category),
            created_at=_iso(conversation.created_at),
        )
    message_id = data.get("message_id")
    if event.name.value == WebhookEvent.MESSAGE_CREATED.value and message_id:
        message = session.get(Message, uuid.UUID(str(message_id)))
        if message is not None:
            data["message"] = {
                "id": str(message.id),
                "seq": message.seq,
                "kind": str(message.kind),
                "author_kind": str(message.author_kind),
                "body": message.body,
                "created_at": _iso(message.created_at),
            }
    return data


def envelope(event_id: str, name: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON object POSTed to the endpoint."""
    return {"id": event_id, "event": name, "occurred_at": occurred_at, "data": data}


def add_delivery(
    session: Session, endpoint_id: uuid.UUID, body: dict[str, Any], *, dedupe_key: str
) -> uuid.UUID:
    """Add a pending delivery and its outbox job to the session (flushed with the transaction)."""
    delivery_id = new_id()
    now = utcnow()
    session.add(
        WebhookDelivery(
            id=delivery_id,
            endpoint_id=endpoint_id,
            event_id=str(body["id"]),
            event_name=str(body["event"]),
            body=body,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            attempt_log=[],
            created_at=now,
        )
    )
    session.add(
        OutboxJob(
            id=new_id(),
            name=WEBHOOK_DELIVER,
            payload={"delivery_id": str(delivery_id)},
            dedupe_key=dedupe_key,
            status=JobStatus.PENDING,
            attempts=0,
            max_attempts=MAX_ATTEMPTS,
            run_at=now,
            created_at=now,
        )
    )
    return delivery_id


def queue_events(session: Session, events: Iterable[Event], endpoints: Iterable[ActiveEndpoint]) -> int:
    """Add a delivery per (event, subscribed endpoint); returns how many."""
    endpoints = tuple(endpoints)
    added = 0
    for event in events:
        targets = [endpoint for endpoint in endpoints if endpoint.wants(event)]
        if not targets:
            continue
        body = envelope(event.id, event.name.value, event.occurred_at.isoformat(), event_data(session, event))
        for endpoint in targets:
            add_delivery(session, endpoint.id, body, dedupe_key=f"webhook:{event.id}:{endpoint.id}")
            added += 1
    return added


def _before_commit(session: Session) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None or not pending.events:
        return
    endpoints = ACTIVE_ENDPOINTS.get_sync(session)
    if endpoints and queue_events(session, pending.events, endpoints):
        after_commit(pending.session, poke_workers)


def endpoints_want(event: Event, *, margin: float = 0.0) -> bool | None:
    """Whether an active endpoint subscribes to `event`, as this process knows without a read: False
    when webhooks are not installed here, None when the cached endpoints are stale (unknown) or
    expire within `margin` seconds."""
    if not _installed:
        return False
    endpoints = ACTIVE_ENDPOINTS.fresh(None, margin=margin)
    if endpoints is None:
        return None
    return any(endpoint.wants(event) for endpoint in endpoints)


def _would_deliver(event: Event) -> bool | None:
    """`note_event`'s `wants`: whether an endpoint would get `event` (None: endpoints not known now)."""
    return _noted(event) and endpoints_want(event)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


_installed: list[bool] = []


def install() -> None:
    """Turn events into webhook deliveries in this process (idempotent; called by the web app and the
    worker at start-up)."""
    if _installed:
        return
    add_transaction_listener(note_event, wants=_would_deliver)
    sa_event.listen(Session, "before_commit", _before_commit)
    sa_event.listen(Session, "after_rollback", _after_rollback)
    _installed.append(True)
