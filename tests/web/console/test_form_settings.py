"""The request-forms settings page: supervisors see added fields and deflection counts; agents do not."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock
from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.web.console.conftest import assert_console_page, sign_in

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
SESSION = "hc-" + "ab" * 16


async def test_supervisors_manage_fields_and_see_deflections(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    boss = await make_agent(runtime.sessionmaker, "boss@example.com", role=Role.SUPERVISOR)
    await make_agent(runtime.sessionmaker, "li@example.com")
    async with transaction(runtime.sessionmaker) as session:
        await load_demo_kb(session)
    for name, active in (("wallet_app", True), ("old_field", False)):
        created = await client.post(
            "/api/v1/request-forms/fields",
            json={"category": "deposit", "name": name, "kind": "text", "label_en": HOSTILE, "active": active},
            headers=boss.headers,
        )
        assert created.status_code == 201, created.text
    for kind in ("suggested", "opened"):
        sent = await client.post(
            "/api/v1/request-forms/deflection",
            json={"session": SESSION, "kind": kind, "locale": "en", "article": "account-locked"},
        )
        assert sent.status_code == 204
    clock.advance(timedelta(minutes=31))  # past the 30-minute rule

    await sign_in(client, "boss@example.com")
    page = await client.get("/console/settings/forms")
    assert page.status_code == 200, page.text[:300]
    assert_console_page(page)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<code>wallet_app</code>" in page.text
    assert 'class="inactive"' in page.text  # the deactivated field is listed, marked
    assert "/static/form_settings.js" in page.text
    assert '<td class="number" data-total="deflections">1</td>' in page.text
    assert 'data-article="account-locked"' in page.text
    assert "tx_hash" in page.text  # built-in fields are named for reference
    client.cookies.clear()

    await sign_in(client, "li@example.com")
    refused = await client.get("/console/settings/forms")
    assert refused.status_code == 404
    assert "wallet_app" not in refused.text
