"""My requests: the anti-phishing card (set, change, remove through the cookie session with CSRF) and the
identity check on a request (the emailed code, then the one-step freeze)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from kefu.contacts.actions import do_add_identity
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.db.uow import transaction
from kefu.integrations.exchange.demo_data import ALICE as ALICE_UID
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.web.helpcenter.test_my_requests import ALICE, HOSTILE, mail_jobs, open_request, sign_in

PATH = "/api/v1/customer/anti-phishing-code"


async def test_the_anti_phishing_card_sets_changes_and_removes_the_code(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "Deposit missing")
    csrf = await sign_in(client, runtime, ALICE)
    page = await client.get("/hc/en/my/requests")
    assert 'id="hc-my-ap-form"' in page.text
    assert "hc-my-ap-code" not in page.text  # no code yet
    # A write without the CSRF header is refused, and nothing is stored.
    assert (await client.put(PATH, json={"code": "Blue Otter"})).status_code == 403
    saved = await client.put(PATH, json={"code": "Blue Otter"}, headers={"x-csrf-token": csrf})
    assert saved.status_code == 200, saved.text
    page = await client.get("/hc/zh-CN/my/requests")
    assert "Blue Otter" in page.text
    assert "防钓鱼码" in page.text
    assert 'id="hc-my-ap-remove"' in page.text
    hostile = await client.put(PATH, json={"code": HOSTILE}, headers={"x-csrf-token": csrf})
    assert hostile.status_code == 422
    assert "Blue Otter" in (await client.get("/hc/en/my/requests")).text  # unchanged
    assert [m["to"] for m in await mail_jobs(runtime, "anti_phishing_code_changed")] == [ALICE]
    removed = await client.delete(PATH, headers={"x-csrf-token": csrf})
    assert removed.status_code == 200
    assert "Blue Otter" not in (await client.get("/hc/en/my/requests")).text


async def test_the_identity_card_takes_the_code_then_offers_the_freeze(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    reference = await open_request(client, ALICE, "Someone is in my account")
    csrf = await sign_in(client, runtime, ALICE)
    async with transaction(runtime.sessionmaker) as session:
        contact_id = await session.scalar(
            select(ContactIdentity.contact_id).where(ContactIdentity.value == ALICE)
        )
        assert contact_id is not None
        await do_add_identity(session, contact_id, IdentityKind.EXCHANGE_UID, ALICE_UID)
    url = f"/hc/en/my/requests/{reference}"
    assert 'id="hc-my-identity"' not in (await client.get(url)).text  # nothing asked yet
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    sent = await client.post(f"/api/v1/conversations/{reference}/identity/code", headers=agent.headers)
    assert sent.status_code == 201
    page = (await client.get(url)).text
    assert 'id="hc-my-identity-form"' in page
    assert "a***@example.com" in page
    code = (await mail_jobs(runtime, "identity_code"))[-1]["context"]["code"]
    headers = {"x-csrf-token": csrf}
    verified = await client.post(
        f"/api/v1/conversations/{reference}/identity/verify", json={"code": code}, headers=headers
    )
    assert verified.status_code == 200, verified.text
    page = (await client.get(url)).text
    assert 'id="hc-my-freeze"' in page
    assert 'id="hc-my-identity-form"' not in page
    frozen = await client.post(
        f"/api/v1/conversations/{reference}/account-actions", json={"action": "freeze"}, headers=headers
    )
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
