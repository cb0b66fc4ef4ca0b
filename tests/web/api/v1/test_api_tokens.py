"""Personal API tokens over HTTP: re-authentication, scopes, shown once, revocation and expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from kefu.auth.models import ApiToken, LoginThrottle
from kefu.auth.roles import Role, Scope
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent, open_conversation
from tests.web.api.v1.conftest import (
    BASE_URL,
    Browser,
    BrowserFactory,
    assert_error,
    count_rows,
    signed_in_admin,
)

URL = "/api/v1/auth/tokens"


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _signed_in(browsers: BrowserFactory, db: Database, email: str = "li@kefu.test") -> Browser:
    browser = await browsers()
    assert (await browser.login(email)).status_code == 200
    return browser


async def test_token_is_created_after_reauthentication_and_shown_once(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await _signed_in(browsers, db)
    before = await count_rows(db, ApiToken)

    body = {"name": "  my   script ", "scopes": ["conversations:read"], "current_password": PASSWORD}
    created = await browser.post(URL, body)
    assert created.status_code == 201, created.text
    out = created.json()
    plaintext = out["token"]
    assert plaintext.startswith("kefu_")
    assert plaintext.startswith(out["prefix"])
    assert len(out["prefix"]) < len(plaintext) // 2
    assert out["name"] == "my script"
    assert out["scopes"] == ["conversations:read"]
    assert out["expires_at"] is None
    assert out["revoked_at"] is None
    assert await count_rows(db, ApiToken) == before + 1

    listed = await browser.http.get(URL)
    assert listed.status_code == 200
    assert plaintext not in listed.text
    assert all("token" not in item for item in listed.json())
    assert out["id"] in [item["id"] for item in listed.json()]
    # Listing is for the signed-in browser; a token cannot enumerate tokens.
    assert_error(await client.get(URL, headers=agent.headers), 403)

    # The token works for reads but not for writes.
    conversation = await open_conversation(client, agent)
    reader = _bearer(plaintext)
    assert (
        await client.get(f"/api/v1/conversations/{conversation['id']}", headers=reader)
    ).status_code == 200
    write = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "x"}, headers=reader
    )
    assert_error(write, 403, "permission_denied")
    patch = await client.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"status": "pending"}, headers=reader
    )
    assert_error(patch, 403)


async def test_read_only_token_cannot_open_conversations(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test", scopes={Scope.CONVERSATIONS_READ})
    before = await count_rows(db, Conversation)
    create = await client.post(
        "/api/v1/conversations",
        json={"body": "x", "customer": {"email": "a@example.com"}, "tags": ["vip"]},
        headers=agent.headers,
    )
    assert_error(create, 403)
    assert await count_rows(db, Conversation) == before


async def test_token_creation_refuses_wrong_password_tokens_and_missing_csrf(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await _signed_in(browsers, db)
    before = await count_rows(db, ApiToken)
    body = {"name": "x", "scopes": ["conversations:read"], "current_password": PASSWORD}

    # After a pause the request also refreshes the session's last_seen_at: the failure must still
    # be counted in its own transaction without waiting on this request's write.
    clock.advance(timedelta(minutes=5))
    wrong = await browser.post(URL, body | {"current_password": "not my password 1"})
    assert_error(wrong, 401)
    assert await count_rows(db, LoginThrottle) == 1
    assert_error(await client.post(URL, json=body, headers=agent.headers), 403, "permission_denied")
    assert_error(await browser.http.post(URL, json=body, headers={"origin": BASE_URL}), 403)
    anonymous = await browsers()
    assert_error(await anonymous.http.post(URL, json=body, headers={"origin": BASE_URL}), 401)
    assert await count_rows(db, ApiToken) == before


async def test_scopes_beyond_the_role_are_refused(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    await make_agent(db.sessionmaker, "sup@kefu.test", role=Role.SUPERVISOR)
    before = await count_rows(db, ApiToken)
    for email in ("li@kefu.test", "sup@kefu.test"):
        browser = await _signed_in(browsers, db, email)
        for scopes in (["admin"], ["conversations:read", "admin"]):
            response = await browser.post(URL, {"name": "x", "scopes": scopes, "current_password": PASSWORD})
            assert_error(response, 403, "permission_denied")
    assert await count_rows(db, ApiToken) == before


async def test_admin_with_second_factor_can_create_an_admin_token(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    admin = await signed_in_admin(browsers, clock, "root@kefu.test")
    created = await admin.post(URL, {"name": "backend", "scopes": ["admin"], "current_password": PASSWORD})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert (await client.get("/api/v1/admin/jobs", headers=_bearer(token))).status_code == 200


async def test_revoked_and_expired_tokens_are_refused(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    other = await make_agent(db.sessionmaker, "wang@kefu.test")
    browser = await _signed_in(browsers, db)
    scopes = ["conversations:read", "conversations:write"]
    revocable = (
        await browser.post(URL, {"name": "a", "scopes": scopes, "current_password": PASSWORD})
    ).json()
    expiring = (
        await browser.post(
            URL, {"name": "b", "scopes": scopes, "current_password": PASSWORD, "expires_in_days": 1}
        )
    ).json()
    assert expiring["expires_at"] is not None
    for token in (revocable["token"], expiring["token"]):
        assert (await client.get("/api/v1/conversations", headers=_bearer(token))).status_code == 200

    # Another agent cannot revoke (or learn about) this agent's token: 404, and it keeps working.
    assert_error(await client.delete(f"{URL}/{revocable['id']}", headers=other.headers), 404)
    assert (await client.get("/api/v1/conversations", headers=_bearer(revocable["token"]))).status_code == 200
    # Revoking from the browser needs the CSRF token.
    assert_error(await browser.http.delete(f"{URL}/{revocable['id']}", headers={"origin": BASE_URL}), 403)
    revoked = await browser.http.delete(f"{URL}/{revocable['id']}", headers=browser.unsafe_headers())
    assert revoked.status_code == 204, revoked.text
    error = assert_error(await client.get("/api/v1/conversations", headers=_bearer(revocable["token"])), 401)
    assert error["code"] == "not_authenticated"
    listed = {t["id"]: t for t in (await browser.http.get(URL)).json()}
    assert listed[revocable["id"]]["revoked_at"] is not None

    clock.advance(timedelta(days=1) - timedelta(seconds=1))
    assert (await client.get("/api/v1/conversations", headers=_bearer(expiring["token"]))).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_error(await client.get("/api/v1/conversations", headers=_bearer(expiring["token"])), 401)
    # The browser session (12 h) has expired by now too.
    assert_error(await browser.http.get(URL), 401)
    assert (await client.get("/api/v1/conversations", headers=agent.headers)).status_code == 200


async def test_token_may_revoke_itself_and_malformed_bearers_are_401(
    client: httpx.AsyncClient, db: Database
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    async with db.sessionmaker() as session:
        token_id = (await session.scalars(select(ApiToken.id).where(ApiToken.agent_id == agent.id))).one()
    assert_error(await client.delete(f"{URL}/{uuid.uuid4()}", headers=agent.headers), 404)
    revoked = await client.delete(f"{URL}/{token_id}", headers=agent.headers)
    assert revoked.status_code == 204, revoked.text
    assert_error(await client.get("/api/v1/agents", headers=agent.headers), 401)
    for header in (
        "Bearer kefu_not-a-real-token",
        "Bearer " + "kefu_" + "x" * 5000,
        "Basic bGk6cGFzcw==",
        "Bearer ",
        "kefu_missing-scheme",
        "Bearer kfc_forged.customer.token",
    ):
        assert_error(await client.get("/api/v1/conversations", headers={"authorization": header}), 401)


async def test_admin_scope_token_limited_to_read_cannot_act_as_admin(
    client: httpx.AsyncClient, db: Database
) -> None:
    # An admin's token without the admin scope is a read/write token, nothing more.
    admin = await make_agent(
        db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.CONVERSATIONS_READ}
    )
    assert_error(await client.get("/api/v1/admin/jobs", headers=admin.headers), 403)
    assert (await client.get("/api/v1/conversations", headers=admin.headers)).status_code == 200
