"""Administrators subscribe URLs to events, rotate their secrets, ping them and redeliver events."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict
from kefu.core.ids import new_id
from kefu.db.uow import after_commit
from kefu.jobs.enqueue import enqueue, poke_workers
from kefu.storage.envelope import DecryptionFailed, Keyring
from kefu.webhooks.listeners import MAX_ATTEMPTS, WEBHOOK_DELIVER, add_delivery, envelope
from kefu.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.netguard import NetGuard
from kefu.webhooks.schemas import PING_EVENT, EndpointChange, EndpointIn
from kefu.webhooks.signing import new_secret, rewrap_secret, seal_secret

MAX_ENDPOINTS: Final = 20


async def check_url(guard: NetGuard, url: str) -> str:
    """`url` when the SSRF guard accepts it now (form, and every address its host resolves to)."""
    return str(await guard.check_target(url))


async def _audit(
    session: AsyncSession,
    actor: AgentActor,
    action: str,
    endpoint: WebhookEndpoint,
    ip: str | None,
    **details: object,
) -> None:
    await record_audit(
        session,
        action=action,
        actor=actor,
        target_type="webhook_endpoint",
        target_id=str(endpoint.id),
        ip=ip,
        details=dict(details),
    )


async def do_create_endpoint(
    session: AsyncSession,
    actor: AgentActor,
    data: EndpointIn,
    *,
    keyring: Keyring,
    guard: NetGuard,
    ip: str | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Subscribe a vetted URL; returns the endpoint and its secret (shown once)."""
    url = await check_url(guard, data.url)
    count = await session.scalar(select(func.count()).select_from(WebhookEndpoint))
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"at most {MAX_ENDPOINTS} webhook endpoints")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id(),
        url=url,
        description=data.description,
        events=[str(event) for event in data.events],
        include_internal=data.include_internal,
        is_active=data.is_active,
        created_by_id=actor.agent_id,
    )
    endpoint.secret_sealed = seal_secret(keyring, endpoint.id, secret)
    session.add(endpoint)
    await session.flush()
    await _audit(session, actor, "webhook_endpoint.created", endpoint, ip, url=url, events=endpoint.events)
    return endpoint, secret


async def do_update_endpoint(
    session: AsyncSession,
    actor: AgentActor,
    endpoint: WebhookEndpoint,
    change: EndpointChange,
    *,
    guard: NetGuard,
    ip: str | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; a new URL is vetted, switching it on again clears its failure record."""
    changed = change.model_dump(exclude_unset=True)
    if change.url is not None:
        endpoint.url = await check_url(guard, change.url)
    if change.description is not None:
        endpoint.description = change.description
    if change.events is not None:
        endpoint.events = [str(event) for event in change.events]
    if change.include_internal is not None:
        endpoint.include_internal = change.include_internal
    if change.is_active is not None:
        if change.is_active and not endpoint.is_active:
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
            endpoint.disabled_reason = None
        endpoint.is_active = change.is_active
    endpoint.updated_at = utcnow()
    await session.flush()
    await _audit(session, actor, "webhook_endpoint.updated", endpoint, ip, fields=sorted(changed))
    return endpoint


async def do_delete_endpoint(
    session: AsyncSession, actor: AgentActor, endpoint: WebhookEndpoint, *, ip: str | None = None
) -> None:
    """Remove an endpoint and its delivery log (queued jobs find nothing and end)."""
    await _audit(session, actor, "webhook_endpoint.deleted", endpoint, ip, url=endpoint.url)
    await session.delete(endpoint)
    await session.flush()


async def do_rotate_secret(
    session: AsyncSession,
    actor: AgentActor,
    endpoint: WebhookEndpoint,
    *,
    keyring: Keyring,
    ip: str | None = None,
) -> str:
    """Replace the signing secret at once (deliveries from now on use the new one); returns it."""
    secret = new_secret()
    endpoint.secret_sealed = seal_secret(keyring, endpoint.id, secret)
    endpoint.updated_at = utcnow()
    await session.flush()
    await _audit(session, actor, "webhook_endpoint.secret_rotated", endpoint, ip)
    return secret


async def do_send_ping(
    session: AsyncSession, actor: AgentActor, endpoint: WebhookEndpoint, *, ip: str | None = None
) -> uuid.UUID:
    """Queue a `webhook.ping` delivery to the endpoint (active or not); returns the delivery id."""
    event_id = str(new_id())
    body = envelope(event_id, PING_EVENT, utcnow().isoformat(), {"endpoint_id": str(endpoint.id)})
    # A ping goes even to a disabled endpoint: it is how an admin checks a fixed receiver.
    delivery_id = add_delivery(
        session.sync_session, endpoint.id, body, dedupe_key=f"webhook:{event_id}:{endpoint.id}"
    )
    await session.flush()
    after_commit(session, poke_workers)
    await _audit(session, actor, "webhook_endpoint.pinged", endpoint, ip)
    return delivery_id


async def do_redeliver(
    session: AsyncSession,
    actor: AgentActor,
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    *,
    ip: str | None = None,
) -> WebhookDelivery:
    """Send a finished delivery again (same event id, so receivers can still deduplicate)."""
    if delivery.status == DeliveryStatus.PENDING.value:
        raise Conflict("the delivery is still being attempted")
    if not endpoint.is_active:
        raise Conflict("the endpoint is disabled; switch it on first")
    delivery.status = DeliveryStatus.PENDING.value
    delivery.error = None
    await enqueue(
        session,
        WEBHOOK_DELIVER,
        {"delivery_id": str(delivery.id)},
        dedupe_key=f"webhook-redeliver:{delivery.id}:{new_id()}",
        max_attempts=MAX_ATTEMPTS,
    )
    await session.flush()
    await _audit(session, actor, "webhook_delivery.redelivered", endpoint, ip, delivery_id=str(delivery.id))
    return delivery


async def rotate_endpoint_secrets(session: AsyncSession, keyring: Keyring) -> tuple[int, list[uuid.UUID]]:
    """Re-wrap every signing secret not under the active master key (for `kefu keys rotate`);
    returns (how many, endpoints whose secret did not open)."""
    rewrapped, failed = 0, []
    for endpoint in await session.scalars(select(WebhookEndpoint)):
        try:
            fresh = rewrap_secret(keyring, endpoint.id, endpoint.secret_sealed)
        except DecryptionFailed:
            failed.append(endpoint.id)
            continue
        if fresh is not None:
            endpoint.secret_sealed = fresh
            rewrapped += 1
    return rewrapped, failed
