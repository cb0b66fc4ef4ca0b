"""`/api/v1/official-channels`: administrators manage the registry; everyone else is refused."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.channels.models import OfficialChannel
from kefu.core.clock import FrozenClock
from tests.conftest import Database
from tests.factories import StaffMember, make_agent
from tests.web.api.v1.conftest import BrowserFactory, assert_error, count_rows, signed_in_admin

URL = "/api/v1/official-channels"
TELEGRAM = {"kind": "telegram", "value": "https://t.me/KefuSupport", "label": "Telegram"}


async def _admin(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})


async def test_anonymous_callers_agents_and_supervisors_are_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    # An admin's token without the admin scope is a plain agent's token.
    limited = await make_agent(db.sessionmaker, "root2@kefu.test", role=Role.ADMIN)
    some_id = uuid.uuid4()
    calls = [("GET", URL, None), ("POST", URL, TELEGRAM), ("DELETE", f"{URL}/{some_id}", None)]
    for method, url, body in calls:
        anonymous = await client.request(method, url, json=body)
        assert_error(anonymous, 401, "not_authenticated")
        for who in (agent, boss, limited):
            refused = await client.request(method, url, json=body, headers=who.headers)
            assert_error(refused, 403, "permission_denied")
    assert await count_rows(db, OfficialChannel) == 0
    async with db.sessionmaker() as session:
        denied = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")))
    assert len(denied) == 9


async def test_admins_register_list_and_remove_channels(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    created = await client.post(URL, json=TELEGRAM, headers=admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "telegram"
    assert body["value"] == "kefusupport"
    assert body["display"] == "@kefusupport"
    assert body["url"] == "https://t.me/kefusupport"
    assert body["published_on_contact_page"] is True
    phone = await client.post(
        URL,
        json={
            "kind": "phone",
            "value": "+65 6123 4567",
            "label": "Singapore",
            "label_zh": "新加坡",
            "position": 2,
        },
        headers=admin.headers,
    )
    assert phone.status_code == 201, phone.text
    assert (phone.json()["value"], phone.json()["region"]) == ("+6561234567", "SG")

    listed = await client.get(URL, headers=admin.headers)
    assert listed.status_code == 200
    assert [row["kind"] for row in listed.json()] == ["phone", "telegram"]
    only_phones = await client.get(URL, params={"kind": "phone"}, headers=admin.headers)
    assert [row["value"] for row in only_phones.json()] == ["+6561234567"]
    assert_error(await client.get(URL, params={"kind": "pager"}, headers=admin.headers), 422)

    removed = await client.delete(f"{URL}/{body['id']}", headers=admin.headers)
    assert removed.status_code == 204
    assert removed.content == b""
    assert_error(await client.delete(f"{URL}/{body['id']}", headers=admin.headers), 404, "not_found")
    assert_error(await client.delete(f"{URL}/not-a-uuid", headers=admin.headers), 422)
    async with db.sessionmaker() as session:
        trail = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.target_type == "official_channel"))
        )
    assert sorted(e.action for e in trail) == [
        "official_channel.created",
        "official_channel.created",
        "official_channel.deleted",
    ]
    assert all(e.actor_id == admin.id for e in trail)


async def test_duplicates_conflict_whatever_their_spelling(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    assert (await client.post(URL, json=TELEGRAM, headers=admin.headers)).status_code == 201
    for spelling in ("@KEFUSUPPORT", "t.me/kefusupport", "kefusupport"):
        again = await client.post(URL, json={"kind": "telegram", "value": spelling}, headers=admin.headers)
        assert_error(again, 409, "conflict")
    assert await count_rows(db, OfficialChannel) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "phone", "value": "12345"},
        {"kind": "phone", "value": "+1 555 0100"},
        {"kind": "email", "value": "support@kefu.localhost\r\nBcc: victim@example.com"},
        {"kind": "domain", "value": "https://kefu.localhost@evil.example/"},
        {"kind": "x", "value": "@" + "a" * 40},
        {"kind": "facebook", "value": "x" * 100_000},
        {"kind": "telegram", "value": "@Kеfusupport"},  # Cyrillic "е"
        {"kind": "email", "value": "support@kefu.localhost", "label": "Support\nX-Header: 1"},
        {"kind": "email", "value": "support@kefu.localhost", "team_id": str(uuid.uuid4())},
        {"kind": "email", "value": "support@kefu.localhost", "region": "Singapore"},
        {"kind": "email", "value": "support@kefu.localhost", "extra": 1},
        {"kind": "pager", "value": "1"},
        {"value": "support@kefu.localhost"},
        {"kind": "email", "value": None},
        {"kind": "email", "value": ["support@kefu.localhost"]},
    ],
)
async def test_invalid_values_are_422_and_store_nothing(
    client: httpx.AsyncClient, db: Database, body: dict[str, object]
) -> None:
    admin = await _admin(db)
    response = await client.post(URL, json=body, headers=admin.headers)
    error = assert_error(response, 422, "invalid_input")
    assert error.get("fields")
    assert await count_rows(db, OfficialChannel) == 0


async def test_the_invalid_value_is_named(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    response = await client.post(URL, json={"kind": "phone", "value": "12345"}, headers=admin.headers)
    fields = assert_error(response, 422)["fields"]
    assert "value" in fields
    assert "country code" in fields["value"]


async def test_malformed_bodies_are_4xx(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    broken = await client.post(
        URL, content=b'{"kind": "email", ', headers=admin.headers | {"content-type": "application/json"}
    )
    assert_error(broken, 400, "malformed_json")
    as_text = await client.post(
        URL,
        content=b'{"kind":"email","value":"a@kefu.localhost"}',
        headers=admin.headers | {"content-type": "text/plain"},
    )
    assert_error(as_text, 415, "unsupported_media_type")
    assert await count_rows(db, OfficialChannel) == 0


async def test_a_signed_in_admin_needs_the_csrf_header(
    browsers: BrowserFactory, clock: FrozenClock, db: Database
) -> None:
    await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    browser = await signed_in_admin(browsers, clock, "root@kefu.test")
    without = await browser.http.post(URL, json=TELEGRAM, headers={"origin": "http://kefu.test"})
    assert_error(without, 403)
    foreign = await browser.http.post(
        URL, json=TELEGRAM, headers=browser.unsafe_headers(origin="https://evil.example")
    )
    assert_error(foreign, 403)
    created = await browser.post(URL, TELEGRAM)
    assert created.status_code == 201, created.text
    listed = await browser.http.get(URL)
    assert [row["value"] for row in listed.json()] == ["kefusupport"]
