"""The webhooks settings page: administrators see endpoints and deliveries; nobody else does."""

from __future__ import annotations

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from kefu.webhooks.actions import do_send_ping
from kefu.webhooks.schemas import WebhookEvent
from kefu.webhooks.service import get_endpoint
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret
from tests.webhooks.helpers import PUBLIC_IP, make_admin, make_endpoint

__all__ = ["clock"]

PAGE = "/console/settings/webhooks"
HOSTILE = "<script>alert(1)</script>"


async def _signed_in_admin(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.ADMIN)
    signed = await sign_in(client, "boss@example.com")
    assert signed.headers["location"] == "/login/enroll"
    started = await post_form(client, "/login/enroll", {"action": "start"})
    secret = setup_secret(started)
    confirmed = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD}
    )
    assert confirmed.status_code == 303, confirmed.text


async def test_admins_see_endpoints_deliveries_and_the_form(
    client: httpx.AsyncClient, runtime: Runtime, db: Database, clock: FrozenClock
) -> None:
    admin = await make_admin(db)
    endpoint_id, secret = await make_endpoint(
        db,
        admin,
        keyring_from_settings(runtime.settings),
        f"https://{PUBLIC_IP}/hooks?x={HOSTILE}",
        events=(WebhookEvent.MESSAGE_CREATED,),
        include_internal=True,
    )
    async with transaction(db.sessionmaker) as session:
        endpoint = await get_endpoint(session, endpoint_id)
        endpoint.description = HOSTILE
        await do_send_ping(session, admin.actor, endpoint)
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert_console_page(page)
    html = page.text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert secret not in html
    assert "message.created" in html
    assert "webhook.ping" in html
    assert "Waiting to be sent" in html
    assert "including internal notes" in html
    assert 'id="webhook-form"' in html
    assert 'data-api="/api/v1/webhooks"' in html
    assert "/static/webhooks.js" in html
    index = await client.get("/console/settings")
    assert f'href="{PAGE}"' in index.text


async def test_an_empty_page_and_others_get_a_404(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    signed_out = await client.get(PAGE)
    assert signed_out.status_code == 303
    for email, role in (("sup@example.com", Role.SUPERVISOR), ("li@example.com", Role.AGENT)):
        await make_agent(runtime.sessionmaker, email, role=role)
        await sign_in(client, email)
        refused = await client.get(PAGE)
        assert refused.status_code == 404
        assert 'id="webhook-form"' not in refused.text
        client.cookies.clear()
    await _signed_in_admin(client, runtime, clock)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "No webhooks yet." in page.text
