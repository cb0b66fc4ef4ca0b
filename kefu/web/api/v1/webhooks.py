"""`/webhooks`: outbound webhook endpoints (docs/webhooks.md). Administrators only; a signing secret is
shown once, at creation and at rotation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from kefu.trust.keys import keyring_from_settings
from kefu.web.deps import Admin, DbSession, RuntimeDep, client_ip
from kefu.webhooks.actions import (
    do_create_endpoint,
    do_delete_endpoint,
    do_redeliver,
    do_rotate_secret,
    do_send_ping,
    do_update_endpoint,
)
from kefu.webhooks.delivery import build_guard
from kefu.webhooks.schemas import DeliveryOut, EndpointChange, EndpointIn, EndpointOut, EndpointWithSecret
from kefu.webhooks.service import (
    delivery_out,
    endpoint_out,
    endpoint_with_secret,
    get_delivery,
    get_endpoint,
    list_deliveries,
    list_endpoints,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("", response_model=list[EndpointOut])
async def webhooks(actor: Admin, session: DbSession) -> list[EndpointOut]:
    """Admins: every webhook endpoint (without secrets)."""
    del actor
    return [endpoint_out(endpoint) for endpoint in await list_endpoints(session)]


@router.post("", status_code=201, response_model=EndpointWithSecret)
async def create_webhook(
    body: EndpointIn, actor: Admin, session: DbSession, runtime: RuntimeDep, request: Request
) -> EndpointWithSecret:
    """Admins subscribe a URL; 422 `unsafe_url` when the SSRF guard refuses it. The secret is shown once."""
    endpoint, secret = await do_create_endpoint(
        session,
        actor,
        body,
        keyring=keyring_from_settings(runtime.settings),
        guard=build_guard(runtime.settings),
        ip=client_ip(request),
    )
    return endpoint_with_secret(endpoint, secret)


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def webhook(endpoint_id: uuid.UUID, actor: Admin, session: DbSession) -> EndpointOut:
    """Admins: one endpoint."""
    del actor
    return endpoint_out(await get_endpoint(session, endpoint_id))


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def update_webhook(
    endpoint_id: uuid.UUID,
    body: EndpointChange,
    actor: Admin,
    session: DbSession,
    runtime: RuntimeDep,
    request: Request,
) -> EndpointOut:
    """Admins change the URL (vetted again), events, description, or switch it on or off."""
    endpoint = await get_endpoint(session, endpoint_id, for_update=True)
    await do_update_endpoint(
        session, actor, endpoint, body, guard=build_guard(runtime.settings), ip=client_ip(request)
    )
    return endpoint_out(endpoint)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_webhook(
    endpoint_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> Response:
    """Admins remove an endpoint and its delivery log."""
    endpoint = await get_endpoint(session, endpoint_id, for_update=True)
    await do_delete_endpoint(session, actor, endpoint, ip=client_ip(request))
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret)
async def rotate_webhook_secret(
    endpoint_id: uuid.UUID, actor: Admin, session: DbSession, runtime: RuntimeDep, request: Request
) -> EndpointWithSecret:
    """Admins replace the signing secret; the new one is shown once and used from now on."""
    endpoint = await get_endpoint(session, endpoint_id, for_update=True)
    secret = await do_rotate_secret(
        session, actor, endpoint, keyring=keyring_from_settings(runtime.settings), ip=client_ip(request)
    )
    return endpoint_with_secret(endpoint, secret)


@router.post("/{endpoint_id}/ping", status_code=202, response_model=DeliveryOut)
async def ping_webhook(
    endpoint_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> DeliveryOut:
    """Admins queue a `webhook.ping` delivery; its outcome shows in the deliveries."""
    endpoint = await get_endpoint(session, endpoint_id)
    delivery_id = await do_send_ping(session, actor, endpoint, ip=client_ip(request))
    return delivery_out(await get_delivery(session, endpoint, delivery_id))


@router.get("/{endpoint_id}/deliveries", response_model=list[DeliveryOut])
async def webhook_deliveries(endpoint_id: uuid.UUID, actor: Admin, session: DbSession) -> list[DeliveryOut]:
    """Admins: the endpoint's 50 most recent deliveries, newest first."""
    del actor
    endpoint = await get_endpoint(session, endpoint_id)
    return [delivery_out(delivery) for delivery in await list_deliveries(session, endpoint)]


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryOut)
async def webhook_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, actor: Admin, session: DbSession
) -> DeliveryOut:
    """Admins: one delivery with its attempts and the body sent."""
    del actor
    endpoint = await get_endpoint(session, endpoint_id)
    return delivery_out(await get_delivery(session, endpoint, delivery_id))


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut)
async def redeliver_webhook(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> DeliveryOut:
    """Admins send a finished delivery again (409 while it is still being attempted)."""
    endpoint = await get_endpoint(session, endpoint_id)
    delivery = await get_delivery(session, endpoint, delivery_id)
    await do_redeliver(session, actor, endpoint, delivery, ip=client_ip(request))
    return delivery_out(delivery)
