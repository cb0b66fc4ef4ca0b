"""Reading webhook endpoints and their deliveries (administrators only; the routes check that)."""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core.errors import NotFound
from kefu.webhooks.models import WebhookDelivery, WebhookEndpoint
from kefu.webhooks.schemas import DeliveryOut, EndpointOut, EndpointWithSecret

RECENT_DELIVERIES: Final = 50


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    rows = await session.scalars(
        select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(rows)


async def get_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    """One endpoint; NotFound when unknown."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


async def list_deliveries(
    session: AsyncSession, endpoint: WebhookEndpoint, *, limit: int = RECENT_DELIVERIES
) -> list[WebhookDelivery]:
    """The endpoint's most recent deliveries, newest first."""
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(rows)


async def get_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """One delivery of `endpoint`; NotFound when unknown or another endpoint's."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound("no such webhook delivery")
    return delivery


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    """The API form of an endpoint (never its secret)."""
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        events=list(endpoint.events),
        include_internal=endpoint.include_internal,
        is_active=endpoint.is_active,
        disabled_reason=endpoint.disabled_reason,
        consecutive_failures=endpoint.consecutive_failures,
        failing_since=endpoint.failing_since,
        created_by_id=endpoint.created_by_id,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def endpoint_with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    """The endpoint and its new secret (creation and rotation only)."""
    return EndpointWithSecret(**endpoint_out(endpoint).model_dump(), secret=secret)


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    """The API form of a delivery."""
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_name=delivery.event_name,
        status=delivery.status,
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        response_excerpt=delivery.response_excerpt,
        error=delivery.error,
        duration_ms=delivery.duration_ms,
        attempt_log=list(delivery.attempt_log),
        created_at=delivery.created_at,
        last_attempt_at=delivery.last_attempt_at,
        delivered_at=delivery.delivered_at,
        body=dict(delivery.body),
    )
