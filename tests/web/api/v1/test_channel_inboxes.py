"""`/api/v1/channel-inboxes`: admins add social and phone inboxes; credentials are sealed, never shown,
and the adapter is configured before anything is committed."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.channels.memory import MemoryAdapter
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.api.v1.conftest import assert_error

URL = "/api/v1/channel-inboxes"
BOT = {
    "channel": "telegram",
    "name": "Support bot",
    "address": "@kefu_support_bot",
    "config": {"mode": "webhook"},
    "secrets": {"bot_token": "123456:AAH-secret-token", "webhook_secret": "s3cr3t-s3cr3t"},
}


class FailingAdapter(MemoryAdapter):
    async def configure(self, inbox: object) -> None:
        raise RuntimeError("https://api.telegram.org/bot123456:AAH-secret-token/setWebhook failed")


async def test_admins_add_an_inbox_and_its_adapter_is_configured(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    adapter = MemoryAdapter(ChannelKind.TELEGRAM)
    runtime.channel_adapters[ChannelKind.TELEGRAM] = adapter
    created = await client.post(URL, json=BOT, headers=admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret_names"] == ["bot_token", "webhook_secret"]
    assert "AAH-secret-token" not in created.text
    assert adapter.configured == [body["id"]]
    listed = await client.get(URL, headers=admin.headers)
    assert [i["address"] for i in listed.json()] == ["@kefu_support_bot"]
    assert "AAH-secret-token" not in listed.text
    # Credentials merge by name; the others stay.
    changed = await client.patch(
        f"{URL}/{body['id']}", json={"secrets": {"webhook_secret": "another-secret"}}, headers=admin.headers
    )
    assert changed.status_code == 200
    assert changed.json()["secret_names"] == ["bot_token", "webhook_secret"]
    assert adapter.configured == [body["id"], body["id"]]
    assert (await client.post(URL, json=BOT, headers=admin.headers)).status_code == 409
    async with db.sessionmaker() as session:
        audits = list(await session.scalars(select(AuditEvent).where(AuditEvent.target_id == body["id"])))
    assert {a.action for a in audits} == {"channel_inbox.created", "channel_inbox.updated"}
    assert all("AAH-secret-token" not in str(a.details) for a in audits)


async def test_a_provider_refusal_stores_nothing_and_leaks_no_token(
    client: httpx.AsyncClient, db: Database, runtime: Runtime
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    runtime.channel_adapters[ChannelKind.TELEGRAM] = FailingAdapter(ChannelKind.TELEGRAM)
    refused = await client.post(URL, json=BOT, headers=admin.headers)
    assert_error(refused, 502, "channel_config_failed")
    assert "AAH-secret-token" not in refused.text
    async with db.sessionmaker() as session:
        assert list(await session.scalars(select(Inbox))) == []


async def test_only_admins_and_only_good_input(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    assert_error(await client.get(URL), 401, "not_authenticated")
    assert_error(await client.post(URL, json=BOT, headers=agent.headers), 403, "permission_denied")
    for bad in (
        BOT | {"channel": "email"},
        BOT | {"channel": "fax"},
        BOT | {"secrets": {"Bad Name": "x"}},
        BOT | {"secrets": {"bot_token": ""}},
        BOT | {"name": ""},
        BOT | {"name": "a\x00b"},
        BOT | {"extra": 1},
        {"channel": "telegram"},
    ):
        response = await client.post(URL, json=bad, headers=admin.headers)
        assert response.status_code in (404, 422), (bad, response.text)
    assert (
        await client.patch(f"{URL}/{uuid.uuid4()}", json={"name": "x"}, headers=admin.headers)
    ).status_code == 404
