"""`/api/v1/webhooks`: administrators only; URLs vetted by the SSRF guard; secrets shown once."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.trust.keys import keyring_from_settings
from kefu.webhooks.delivery import build_guard
from kefu.webhooks.models import WebhookDelivery, WebhookEndpoint
from kefu.webhooks.netguard import NetGuard, UnsafeTarget
from kefu.webhooks.signing import open_secret
from tests.channels.standin_server import serve
from tests.conftest import Database
from tests.factories import StaffMember, make_agent
from tests.web.api.v1.conftest import assert_error, count_rows
from tests.webhooks.helpers import (
    PUBLIC_IP,
    Receiver,
    connector_to,
    make_admin,
    make_worker,
    resolver_of,
    run_jobs,
)

URL = "/api/v1/webhooks"
HOOK = f"http://{PUBLIC_IP}:8080/kefu"


async def _create(client: httpx.AsyncClient, admin: StaffMember, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"url": HOOK, "events": ["conversation.created"]} | extra
    response = await client.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_only_administrators_may_use_it(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    # An admin's token without the admin scope is a plain agent's token.
    limited = await make_agent(db.sessionmaker, "root2@kefu.test", role=Role.ADMIN)
    admin = await make_admin(db)
    existing = await _create(client, admin)
    one = f"{URL}/{existing['id']}"
    delivery = f"{one}/deliveries/{uuid.uuid4()}"
    calls = [
        ("GET", URL, None),
        ("POST", URL, {"url": HOOK, "events": ["message.created"]}),
        ("GET", one, None),
        ("PATCH", one, {"is_active": False}),
        ("DELETE", one, None),
        ("POST", f"{one}/rotate-secret", None),
        ("POST", f"{one}/ping", None),
        ("GET", f"{one}/deliveries", None),
        ("GET", delivery, None),
        ("POST", f"{delivery}/redeliver", None),
    ]
    for method, url, payload in calls:
        assert_error(await client.request(method, url, json=payload), 401, "not_authenticated")
        for who in (agent, boss, limited):
            refused = await client.request(method, url, json=payload, headers=who.headers)
            assert_error(refused, 403, "permission_denied")
    assert await count_rows(db, WebhookEndpoint) == 1
    assert await count_rows(db, WebhookDelivery) == 0
    async with db.sessionmaker() as session:
        [row] = (await session.scalars(select(WebhookEndpoint))).all()
        assert row.is_active is True
        denied = await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied"))
        assert len(list(denied)) == 3 * len(calls)


async def test_admins_create_read_change_rotate_and_delete(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    admin = await make_admin(db)
    created = await _create(
        client,
        admin,
        description="  CRM sync ",
        events=["message.created", "conversation.created", "message.created"],
    )
    secret = str(created["secret"])
    assert secret.startswith("whsec_")
    assert created["events"] == ["conversation.created", "message.created"]
    assert created["description"] == "CRM sync"
    assert created["is_active"] is True
    assert created["include_internal"] is False
    assert created["created_by_id"] == str(admin.id)
    endpoint_id = uuid.UUID(str(created["id"]))
    keyring = keyring_from_settings(runtime.settings)
    async with db.sessionmaker() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        assert secret.encode() not in row.secret_sealed
        assert open_secret(keyring, endpoint_id, row.secret_sealed) == secret

    listed = await client.get(URL, headers=admin.headers)
    assert [item["id"] for item in listed.json()] == [str(endpoint_id)]
    assert "secret" not in listed.json()[0]
    read = await client.get(f"{URL}/{endpoint_id}", headers=admin.headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert secret not in read.text

    changed = await client.patch(
        f"{URL}/{endpoint_id}",
        json={"events": ["conversation.updated"], "include_internal": True, "is_active": False},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["include_internal"], changed.json()["is_active"]) == (
        ["conversation.updated"],
        True,
        False,
    )

    rotated = await client.post(f"{URL}/{endpoint_id}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != secret
    async with db.sessionmaker() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        assert open_secret(keyring, endpoint_id, row.secret_sealed) == new_secret

    removed = await client.delete(f"{URL}/{endpoint_id}", headers=admin.headers)
    assert removed.status_code == 204
    assert_error(await client.get(f"{URL}/{endpoint_id}", headers=admin.headers), 404, "not_found")
    assert_error(await client.delete(f"{URL}/{endpoint_id}", headers=admin.headers), 404, "not_found")
    async with db.sessionmaker() as session:
        actions = await session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_type == "webhook_endpoint")
        )
        assert set(actions) == {
            "webhook_endpoint.created",
            "webhook_endpoint.updated",
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint.deleted",
        }


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost:8080/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.8:8080/",
        "http://100.64.1.1:8080/",
        "http://[::ffff:127.0.0.1]:8080/",
        "http://0.0.0.0:8080/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "http://example.com:22/",
    ],
)
async def test_unsafe_urls_are_refused_with_422(client: httpx.AsyncClient, db: Database, url: str) -> None:
    admin = await make_admin(db)
    refused = await client.post(URL, json={"url": url, "events": ["message.created"]}, headers=admin.headers)
    assert_error(refused, 422, "unsafe_url")
    assert await count_rows(db, WebhookEndpoint) == 0


async def test_changing_the_url_is_vetted_again(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_admin(db)
    created = await _create(client, admin)
    refused = await client.patch(
        f"{URL}/{created['id']}", json={"url": "http://192.168.0.1:8080/"}, headers=admin.headers
    )
    assert_error(refused, 422, "unsafe_url")
    kept = (await client.get(f"{URL}/{created['id']}", headers=admin.headers)).json()
    assert kept["url"] == HOOK


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": HOOK},
        {"url": HOOK, "events": []},
        {"url": HOOK, "events": ["sla.breached"]},
        {"url": HOOK, "events": ["webhook.ping"]},
        {"url": HOOK, "events": "message.created"},
        {"url": HOOK, "events": ["message.created"], "secret": "mine"},
        {"url": HOOK + "\x00", "events": ["message.created"]},
        {"url": "http://" + "a" * 2000 + ".com/", "events": ["message.created"]},
        {"url": HOOK, "events": ["message.created"], "description": "d" * 201},
        {"url": 5, "events": ["message.created"]},
        ["not", "an", "object"],
    ],
)
async def test_malformed_input_is_422(client: httpx.AsyncClient, db: Database, body: object) -> None:
    admin = await make_admin(db)
    assert_error(await client.post(URL, json=body, headers=admin.headers), 422)
    assert await count_rows(db, WebhookEndpoint) == 0


async def test_broken_bodies_and_ids_are_4xx(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_admin(db)
    broken = await client.post(
        URL, content=b'{"url": ', headers=admin.headers | {"content-type": "application/json"}
    )
    assert_error(broken, 400, "malformed_json")
    as_text = await client.post(
        URL, content=b'{"url": "x"}', headers=admin.headers | {"content-type": "text/plain"}
    )
    assert_error(as_text, 415, "unsupported_media_type")
    assert_error(await client.get(f"{URL}/not-a-uuid", headers=admin.headers), 422)
    assert_error(await client.get(f"{URL}/{uuid.uuid4()}", headers=admin.headers), 404, "not_found")
    assert_error(await client.post(f"{URL}/{uuid.uuid4()}/ping", headers=admin.headers), 404, "not_found")
    created = await _create(client, admin)
    assert_error(
        await client.get(f"{URL}/{created['id']}/deliveries/{uuid.uuid4()}", headers=admin.headers), 404
    )
    assert_error(
        await client.patch(f"{URL}/{created['id']}", json={"events": []}, headers=admin.headers), 422
    )
    assert_error(
        await client.patch(f"{URL}/{created['id']}", json={"is_active": "perhaps"}, headers=admin.headers),
        422,
    )


async def test_ping_deliveries_and_redelivery(
    client: httpx.AsyncClient, db: Database, runtime: Runtime, settings: Settings
) -> None:
    admin = await make_admin(db)
    receiver = Receiver(answers=[404])
    async with serve(receiver.app()) as base:
        created = await _create(client, admin)
        receiver.secret = str(created["secret"])
        one = f"{URL}/{created['id']}"
        pinged = await client.post(f"{one}/ping", headers=admin.headers)
        assert pinged.status_code == 202, pinged.text
        ping = pinged.json()
        assert (ping["event_name"], ping["status"], ping["attempts"]) == ("webhook.ping", "pending", 0)
        assert ping["body"]["data"] == {"endpoint_id": created["id"]}
        assert_error(
            await client.post(f"{one}/deliveries/{ping['id']}/redeliver", headers=admin.headers), 409
        )

        guard = NetGuard(
            resolver=resolver_of({"hooks.example.com": [PUBLIC_IP]}), connector=connector_to(base)
        )
        worker = make_worker(db, settings, keyring_from_settings(settings), guard)
        await run_jobs(worker)
        failed = (await client.get(f"{one}/deliveries/{ping['id']}", headers=admin.headers)).json()
        assert (failed["status"], failed["response_status"], failed["attempts"]) == ("failed", 404, 1)
        assert failed["response_excerpt"] == "answer 404"

        again = await client.post(f"{one}/deliveries/{ping['id']}/redeliver", headers=admin.headers)
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending"
        await run_jobs(worker)
    listed = (await client.get(f"{one}/deliveries", headers=admin.headers)).json()
    assert [(d["id"], d["status"], d["attempts"]) for d in listed] == [(ping["id"], "delivered", 2)]
    assert [a["status_code"] for a in listed[0]["attempt_log"]] == [404, 200]
    assert [r.signature_ok for r in receiver.received] == [True, True]
    # Both attempts carry the same id: a receiver deduplicates on it.
    assert {r.headers["kefu-webhook-id"] for r in receiver.received} == {ping["event_id"]}


async def test_a_disabled_endpoint_is_not_redelivered_to(client: httpx.AsyncClient, db: Database) -> None:
    admin = await make_admin(db)
    created = await _create(client, admin)
    one = f"{URL}/{created['id']}"
    ping = (await client.post(f"{one}/ping", headers=admin.headers)).json()
    async with db.sessionmaker() as session:
        row = await session.get(WebhookDelivery, uuid.UUID(ping["id"]))
        assert row is not None
        row.status = "failed"
        await session.commit()
    await client.patch(one, json={"is_active": False}, headers=admin.headers)
    assert_error(await client.post(f"{one}/deliveries/{ping['id']}/redeliver", headers=admin.headers), 409)


async def test_production_requires_https_and_refuses_private_networks(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production"})
    guard = build_guard(production)
    assert guard.require_https
    assert not guard.allow_private
    with pytest.raises(UnsafeTarget, match="https"):
        await guard.check_target(HOOK)
    with pytest.raises(ValidationError, match="webhook_allow_private_networks"):
        Settings(env="production", webhook_allow_private_networks=True)
