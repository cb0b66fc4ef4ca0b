"""Signing in over HTTP: cookies, generic failures, lockouts, session rotation, logout, password change."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from kefu.auth.models import AgentSession
from kefu.auth.roles import Role, Scope
from kefu.core.clock import FrozenClock
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import PASSWORD, StaffMember, make_agent
from tests.web.api.v1.conftest import (
    BASE_URL,
    FOREIGN_ORIGIN,
    Browser,
    BrowserFactory,
    assert_error,
    count_rows,
)

NEW_PASSWORD = "a brand new passphrase 7"


def _cookie_attributes(response: httpx.Response, name: str) -> tuple[str, set[str]]:
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))
    first, *attributes = (part.strip() for part in header.split(";"))
    return first.split("=", 1)[1], {a.lower() for a in attributes}


def _cookie_header(session_token: str, csrf: str | None = None) -> dict[str, str]:
    cookie = f"kefu_session={session_token}" + (f"; kefu_csrf={csrf}" if csrf else "")
    return {"cookie": cookie}


async def _audit(client: httpx.AsyncClient, admin: StaffMember, action: str) -> list[dict[str, object]]:
    response = await client.get("/api/v1/admin/audit", params={"action": action}, headers=admin.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, object]] = response.json()
    return events


async def test_login_sets_hardened_cookies_and_signs_an_agent_in(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    response = await browser.login("LI@kefu.test")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "active"
    assert body["agent"] == {
        "id": str(agent.id),
        "email": "li@kefu.test",
        "name": "li",
        "role": "agent",
        "second_factor_enabled": False,
    }
    session_value, session_attrs = _cookie_attributes(response, "kefu_session")
    assert {"httponly", "samesite=lax", "path=/"} <= session_attrs
    assert "secure" not in session_attrs  # base_url is http in tests; __Host-/Secure over https
    csrf_value, csrf_attrs = _cookie_attributes(response, "kefu_csrf")
    assert "httponly" not in csrf_attrs  # our own scripts read it to echo it in X-CSRF-Token
    assert "samesite=strict" in csrf_attrs
    assert csrf_value == body["csrf_token"]
    assert session_value not in response.text  # the session id only travels in the HttpOnly cookie
    # Only a digest of the cookie is stored.
    async with db.sessionmaker() as session:
        stored = (await session.scalars(select(AgentSession.id))).all()
    assert len(stored) == 1
    assert session_value not in stored

    who = await browser.http.get("/api/v1/auth/session")
    assert who.json()["state"] == "active"
    assert who.json()["agent"]["id"] == str(agent.id)
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200


async def test_unknown_email_and_wrong_password_look_the_same(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    unknown = await browser.login("nobody@kefu.test", "whatever it is 1")
    wrong = await browser.login("li@kefu.test", "whatever it is 1")
    for response in (unknown, wrong):
        assert_error(response, 401, "not_authenticated")
        assert "set-cookie" not in response.headers
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["message"] == "Invalid email or password"
    assert await count_rows(db, AgentSession) == 0


async def test_account_lockout_is_429_with_retry_after_and_audited(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    victim = await make_agent(db.sessionmaker, "li@kefu.test")
    await make_agent(db.sessionmaker, "wang@kefu.test")
    attacker = await browsers(ip="203.0.113.66")
    for _ in range(settings.login_max_failures_per_account):
        assert_error(await attacker.login("li@kefu.test", "guess guess guess"), 401)

    # Even the right password is refused now, from any address.
    elsewhere = await browsers(ip="198.51.100.20")
    for browser in (attacker, elsewhere):
        locked = await browser.login("li@kefu.test")
        error = assert_error(locked, 429, "rate_limited")
        assert "set-cookie" not in locked.headers
        retry_after = int(locked.headers["retry-after"])
        assert retry_after == settings.login_lockout_minutes * 60
        assert error["message"] == (
            f"Too many failed sign-in attempts. Try again in {settings.login_lockout_minutes} minutes."
        )
    # Other accounts behind the same address are not locked by one account's lockout.
    assert (await attacker.login("wang@kefu.test")).status_code == 200

    events = await _audit(client, admin, "auth.locked_out")
    assert len(events) == 1
    event = events[0]
    assert event["target_type"] == "agent"
    assert event["target_id"] == str(victim.id)
    assert event["ip"] == "203.0.113.66"
    assert event["details"] == {
        "scope": "account",
        "locked_until": (clock.now() + timedelta(minutes=settings.login_lockout_minutes)).isoformat(),
    }
    failures = await _audit(client, admin, "auth.login_failed")
    reasons = [e["details"] for e in failures]
    assert reasons.count({"reason": "wrong_password"}) == settings.login_max_failures_per_account
    assert reasons.count({"reason": "locked_out"}) == 2
    # No password ever reaches the audit trail.
    everything = (await client.get("/api/v1/admin/audit", headers=admin.headers)).text
    assert "guess guess guess" not in everything
    assert PASSWORD not in everything


async def test_lockout_ends_on_time_even_when_attempts_continue(
    browsers: BrowserFactory, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    for _ in range(settings.login_max_failures_per_account):
        await browser.login("li@kefu.test", "guess guess guess")
    clock.advance(timedelta(minutes=settings.login_lockout_minutes - 1))
    for _ in range(3):  # attempts during the lockout do not extend it
        locked = await browser.login("li@kefu.test", "guess guess guess")
        assert_error(locked, 429)
    assert int(locked.headers["retry-after"]) == 60
    assert "1 minute." in locked.json()["error"]["message"]
    clock.advance(timedelta(minutes=1))
    response = await browser.login("li@kefu.test")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "active"


async def test_per_address_lockout_spans_different_emails(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    await make_agent(db.sessionmaker, "li@kefu.test")
    sprayer = await browsers(ip="203.0.113.99")
    # One guess per email stays far below the per-account limit; the address is what gets locked.
    for i in range(settings.login_max_failures_per_ip):
        assert_error(await sprayer.login(f"user{i}@kefu.test", "Winter2025!"), 401)
    assert_error(await sprayer.login("li@kefu.test"), 429, "rate_limited")
    # The account itself is not locked: its owner signs in from their own address.
    owner = await browsers(ip="198.51.100.7")
    assert (await owner.login("li@kefu.test")).status_code == 200
    events = await _audit(client, admin, "auth.locked_out")
    assert [(e["ip"], e["details"]["scope"]) for e in events] == [("203.0.113.99", "ip")]  # type: ignore[index]


async def test_session_id_rotates_at_every_login_and_planted_ids_are_ignored(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    victim = await browsers()
    planted = "attacker-chosen-session-id"
    first = await victim.login("li@kefu.test", cookie=f"kefu_session={planted}")
    first_token, first_csrf = victim.session_cookie, victim.csrf
    assert first_token is not None
    assert first_csrf is not None
    assert first_token != planted
    second = await victim.login("li@kefu.test")
    assert (first.status_code, second.status_code) == (200, 200)
    assert victim.session_cookie not in (None, first_token)
    assert victim.csrf != first_csrf

    other = await browsers()
    assert_error(await other.http.get("/api/v1/auth/session", headers=_cookie_header(planted)), 401)
    # The first session is still live until it is logged out...
    assert (
        await other.http.get("/api/v1/auth/session", headers=_cookie_header(first_token))
    ).status_code == 200
    logout = await other.http.post(
        "/api/v1/auth/logout",
        headers=_cookie_header(first_token, first_csrf) | {"x-csrf-token": first_csrf, "origin": BASE_URL},
    )
    assert logout.status_code == 204, logout.text
    # ...and then only the second one works.
    assert_error(await other.http.get("/api/v1/auth/session", headers=_cookie_header(first_token)), 401)
    assert (await victim.http.get("/api/v1/conversations")).status_code == 200


async def test_logout_revokes_the_session_and_clears_cookies(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    await browser.login("li@kefu.test")
    token = browser.session_cookie
    assert token is not None
    # A cross-site page cannot log the agent out (no CSRF token).
    assert_error(await browser.http.post("/api/v1/auth/logout", headers={"origin": BASE_URL}), 403)
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200

    response = await browser.post("/api/v1/auth/logout")
    assert response.status_code == 204, response.text
    cleared = response.headers.get_list("set-cookie")
    assert any(h.startswith("kefu_session=") and "max-age=0" in h.lower() for h in cleared)
    assert any(h.startswith("kefu_csrf=") and "max-age=0" in h.lower() for h in cleared)
    assert browser.session_cookie is None

    replay = await browsers()
    assert_error(await replay.http.get("/api/v1/conversations", headers=_cookie_header(token)), 401)
    assert_error(await replay.http.get("/api/v1/auth/session", headers=_cookie_header(token)), 401)
    async with db.sessionmaker() as session:
        row = (await session.scalars(select(AgentSession))).one()
    assert row.revoked_at == clock.now()


async def test_password_change_needs_the_current_password_and_revokes_other_sessions(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    here, there = await browsers(), await browsers(ip="198.51.100.50")
    await here.login("li@kefu.test")
    await there.login("li@kefu.test")
    url = "/api/v1/auth/password"

    clock.advance(timedelta(minutes=5))  # this request also refreshes last_seen_at
    wrong = await here.post(url, {"current_password": "not my password 1", "new_password": NEW_PASSWORD})
    assert_error(wrong, 401)
    unchanged = await here.post(url, {"current_password": PASSWORD, "new_password": PASSWORD})
    assert_error(unchanged, 422, "invalid_input")
    weak = await here.post(url, {"current_password": PASSWORD, "new_password": "short"})
    assert_error(weak, 422, "invalid_input")
    # Without a CSRF token, or from an API token, the change is refused.
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_error(await here.http.post(url, json=body, headers={"origin": BASE_URL}), 403)
    assert_error(await here.http.post(url, json=body, headers=agent.headers), 403)
    assert (await there.http.get("/api/v1/conversations")).status_code == 200

    changed = await here.post(url, body)
    assert changed.status_code == 204, changed.text
    assert (await here.http.get("/api/v1/conversations")).status_code == 200
    assert_error(await there.http.get("/api/v1/conversations"), 401)
    fresh = await browsers()
    assert_error(await fresh.login("li@kefu.test"), 401)
    assert (await fresh.login("li@kefu.test", NEW_PASSWORD)).status_code == 200


async def test_login_from_a_foreign_origin_is_refused(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    for headers in (
        {"origin": FOREIGN_ORIGIN},
        {"referer": f"{FOREIGN_ORIGIN}/phish"},
        {"origin": "http://kefu.test.evil.example"},
        {"origin": "https://kefu.test"},  # another scheme is another origin
        {"origin": "null"},
    ):
        response = await browser.login("li@kefu.test", **headers)
        assert_error(response, 403, "permission_denied")
        assert "set-cookie" not in response.headers
    assert await count_rows(db, AgentSession) == 0
    same_site = await browser.login("li@kefu.test", origin=BASE_URL, referer=f"{BASE_URL}/login")
    assert same_site.status_code == 200, same_site.text


async def test_session_route_needs_a_live_cookie(browsers: BrowserFactory, db: Database) -> None:
    browser: Browser = await browsers()
    assert_error(await browser.http.get("/api/v1/auth/session"), 401)
    assert_error(await browser.http.get("/api/v1/auth/session", headers=_cookie_header("x" * 300)), 401)
    assert_error(await browser.http.get("/api/v1/conversations", headers=_cookie_header("nope")), 401)
