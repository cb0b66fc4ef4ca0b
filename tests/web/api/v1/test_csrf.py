"""Cookie sessions need the double-submit CSRF token and our own Origin for every state change."""

from __future__ import annotations

import httpx
import pytest

from kefu.conversations.models import Message
from kefu.core.clock import FrozenClock
from tests.conftest import Database
from tests.factories import make_agent, open_conversation
from tests.web.api.v1.conftest import (
    BASE_URL,
    FOREIGN_ORIGIN,
    Browser,
    BrowserFactory,
    assert_error,
    count_rows,
)


async def _agent_browser(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database
) -> tuple[Browser, str]:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conversation = await open_conversation(client, agent)
    browser = await browsers()
    assert (await browser.login("li@kefu.test")).status_code == 200
    return browser, str(conversation["id"])


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": BASE_URL}, id="no-token"),
        pytest.param({"origin": BASE_URL, "x-csrf-token": "guessed"}, id="wrong-token"),
        pytest.param({"origin": BASE_URL, "x-csrf-token": ""}, id="empty-token"),
        pytest.param({"origin": FOREIGN_ORIGIN, "x-csrf-token": "{csrf}"}, id="foreign-origin"),
        pytest.param({"referer": f"{FOREIGN_ORIGIN}/x", "x-csrf-token": "{csrf}"}, id="foreign-referer"),
        pytest.param({"origin": "http://kefu.test:8080", "x-csrf-token": "{csrf}"}, id="other-port"),
    ],
)
async def test_cookie_state_changes_without_token_or_from_elsewhere_are_403(
    client: httpx.AsyncClient,
    browsers: BrowserFactory,
    db: Database,
    clock: FrozenClock,
    headers: dict[str, str],
) -> None:
    browser, conversation_id = await _agent_browser(client, browsers, db)
    assert browser.csrf is not None
    sent = {k: v.replace("{csrf}", browser.csrf) for k, v in headers.items()}
    url = f"/api/v1/conversations/{conversation_id}"
    before = await count_rows(db, Message)
    patch = await browser.http.patch(url, json={"status": "pending"}, headers=sent)
    assert_error(patch, 403, "permission_denied")
    post = await browser.http.post(f"{url}/messages", json={"body": "forged"}, headers=sent)
    assert_error(post, 403, "permission_denied")
    assert await count_rows(db, Message) == before
    current = await browser.http.get(url)
    assert current.json()["status"] == "new"


async def test_cookie_state_change_with_token_and_our_origin_succeeds(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    browser, conversation_id = await _agent_browser(client, browsers, db)
    url = f"/api/v1/conversations/{conversation_id}"
    # Reads need no token.
    assert (await browser.http.get(url)).status_code == 200
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200
    patch = await browser.http.patch(url, json={"status": "pending"}, headers=browser.unsafe_headers())
    assert patch.status_code == 200, patch.text
    assert patch.json()["status"] == "pending"
    reply = await browser.post(f"{url}/messages", {"body": "on it"})
    assert reply.status_code == 201, reply.text
    # A non-browser client sending neither Origin nor Referer still needs the token.
    assert browser.csrf is not None
    no_origin = await browser.http.patch(url, json={"status": "open"}, headers={"x-csrf-token": browser.csrf})
    assert no_origin.status_code == 200, no_origin.text
    referer_only = await browser.http.patch(
        url, json={"status": "pending"}, headers={"x-csrf-token": browser.csrf, "referer": f"{BASE_URL}/c/1"}
    )
    assert referer_only.status_code == 200, referer_only.text


async def test_csrf_token_of_another_session_does_not_fit(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    browser, conversation_id = await _agent_browser(client, browsers, db)
    attacker = await browsers()
    await make_agent(db.sessionmaker, "mallory@kefu.test")
    await attacker.login("mallory@kefu.test")
    assert attacker.csrf is not None
    response = await browser.http.patch(
        f"/api/v1/conversations/{conversation_id}",
        json={"status": "pending"},
        headers={"origin": BASE_URL, "x-csrf-token": attacker.csrf},
    )
    assert_error(response, 403)


async def test_text_plain_bodies_are_refused_even_with_a_valid_token(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    browser, conversation_id = await _agent_browser(client, browsers, db)
    before = await count_rows(db, Message)
    headers = browser.unsafe_headers() | {"content-type": "text/plain"}
    post = await browser.http.post(
        f"/api/v1/conversations/{conversation_id}/messages", content=b'{"body": "x"}', headers=headers
    )
    assert_error(post, 415, "unsupported_media_type")
    patch = await browser.http.patch(
        f"/api/v1/conversations/{conversation_id}", content=b'{"status": "pending"}', headers=headers
    )
    assert 400 <= patch.status_code < 500, patch.text
    assert "error" in patch.json()
    # A cross-site form can only send text/plain (or form encodings) to the login route too.
    login = await browser.http.post(
        "/api/v1/auth/login",
        content=b'{"email": "li@kefu.test", "password": "correct horse battery staple"}',
        headers={"content-type": "text/plain"},
    )
    assert 400 <= login.status_code < 500, login.text
    assert "set-cookie" not in login.headers
    assert await count_rows(db, Message) == before
    assert (await browser.http.get(f"/api/v1/conversations/{conversation_id}")).json()["status"] == "new"


async def test_bearer_callers_need_no_csrf_token(client: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conversation = await open_conversation(client, agent)
    response = await client.patch(
        f"/api/v1/conversations/{conversation['id']}", json={"status": "pending"}, headers=agent.headers
    )
    assert response.status_code == 200, response.text
    reply = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "x"}, headers=agent.headers
    )
    assert reply.status_code == 201, reply.text
