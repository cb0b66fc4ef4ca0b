"""Malformed bodies on every auth, admin and customer-token route: a 4xx error shape, never a 500,
nothing stored, nothing counted as a failed sign-in."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from kefu.audit.models import AuditEvent
from kefu.auth.models import Agent, AgentSession, ApiToken, LoginThrottle
from kefu.auth.roles import Role
from kefu.contacts.models import Contact
from kefu.core.clock import FrozenClock
from kefu.jobs.models import OutboxJob
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent
from tests.web.api.v1.conftest import Browser, BrowserFactory, assert_error, count_rows, signed_in_admin

HUGE = "x" * 100_000
STRING_FIELDS = {"email", "password", "code", "current_password", "new_password", "name"}

# route -> (method, path template, a valid body to derive broken ones from)
ROUTES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "login": ("POST", "/api/v1/auth/login", {"email": "root@kefu.test", "password": PASSWORD}),
    "second_factor": ("POST", "/api/v1/auth/second-factor", {"code": "123456"}),
    "confirm_enrollment": (
        "POST",
        "/api/v1/auth/second-factor/enrollment/confirm",
        {"code": "123456", "password": PASSWORD},
    ),
    "password": (
        "POST",
        "/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": "another long pass 9"},
    ),
    "create_token": (
        "POST",
        "/api/v1/auth/tokens",
        {"name": "n", "scopes": ["conversations:read"], "expires_in_days": 30, "current_password": PASSWORD},
    ),
    "create_agent": (
        "POST",
        "/api/v1/agents",
        {"email": "new@kefu.test", "name": "New", "role": "agent", "password": "a long enough pass 1"},
    ),
    "change_role": ("PUT", "/api/v1/agents/{target}/role", {"role": "supervisor"}),
    "customer_token": ("POST", "/api/v1/customers/tokens", {"email": "cust@example.com", "name": "C"}),
}

UNPARSEABLE = (b"{not json", b'{"email": "a@b.c"', b"\xff\xfe\x00garbage", b"[" * 100_000)
RAW_BODIES: list[tuple[bytes, str]] = [
    (b"{not json", "application/json"),
    (b'{"email": "a@b.c"', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"[" * 100_000, "application/json"),
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'"just a string"', "application/json"),
    (b"email=a%40b.c&password=x", "application/x-www-form-urlencoded"),
    (b'{"email": "a@b.c", "password": "x"}', "text/plain"),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
]


def _broken_json_bodies(valid: dict[str, Any], *, may_be_empty: frozenset[str]) -> list[dict[str, Any]]:
    """Wrong types, extra fields, missing fields and huge strings, one defect at a time."""
    bodies: list[dict[str, Any]] = [valid | {"is_admin": True}, valid | {"": 1}]
    for field, value in valid.items():
        bodies.append({k: v for k, v in valid.items() if k != field} | {field + "_": value})
        # Integers accept other integers (and, in JSON's lax mode, booleans): only other types are wrong.
        wrong_types = (
            (1.5, ["x"], {"$ne": ""}) if isinstance(value, int) else (123, 1.5, True, ["x"], {"$ne": ""})
        )
        bodies += [valid | {field: wrong} for wrong in wrong_types]
        if field in STRING_FIELDS:
            bodies.append(valid | {field: HUGE})
            if field not in may_be_empty:
                bodies.append(valid | {field: ""})
    if "scopes" in valid:
        bodies += [valid | {"scopes": []}, valid | {"scopes": ["root"]}, valid | {"scopes": "admin"}]
        bodies += [valid | {"scopes": ["conversations:read"] * 10}]
    if "expires_in_days" in valid:
        bodies += [valid | {"expires_in_days": d} for d in (0, -1, 3651, 10**30, "soon")]
    if "role" in valid:
        bodies += [valid | {"role": r} for r in ("root", "ADMIN ", "", None)]
    return bodies


async def _stored(db: Database) -> dict[str, int]:
    models = (Agent, AgentSession, ApiToken, Contact, AuditEvent, LoginThrottle, OutboxJob)
    return {m.__name__: await count_rows(db, m) for m in models}


async def _admin_browser(browsers: BrowserFactory, db: Database, clock: FrozenClock) -> Browser:
    await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN)
    return await signed_in_admin(browsers, clock, "root@kefu.test")


@pytest.mark.parametrize("route", list(ROUTES))
async def test_malformed_bodies_are_4xx_and_change_nothing(
    browsers: BrowserFactory, db: Database, clock: FrozenClock, route: str
) -> None:
    browser = await _admin_browser(browsers, db, clock)
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    method, template, valid = ROUTES[route]
    url = template.format(target=target.id)
    before = await _stored(db)

    for content, content_type in RAW_BODIES:
        headers = browser.unsafe_headers() | {"content-type": content_type}
        response = await browser.http.request(method, url, content=content, headers=headers)
        error = assert_error(response, response.status_code)
        assert 400 <= response.status_code < 500, (content[:40], content_type, response.text)
        if content in UNPARSEABLE:
            assert response.status_code == 400, (content[:40], response.text)
            assert error["code"] in ("malformed_json", "bad_request")
    may_be_empty = frozenset({"name"}) if route == "customer_token" else frozenset()
    for body in _broken_json_bodies(valid, may_be_empty=may_be_empty):
        response = await browser.http.request(method, url, json=body, headers=browser.unsafe_headers())
        assert response.status_code == 422, (body, response.text)
        error = assert_error(response, 422, "invalid_input")
        assert error["fields"], (body, response.text)
        assert HUGE not in response.text  # errors do not echo attacker-sized input

    assert await _stored(db) == before
    # The admin's password, second factor and session are untouched.
    assert (await browser.http.get("/api/v1/auth/session")).json()["state"] == "active"
    again = await browsers()
    assert (await again.login("root@kefu.test")).json()["state"] == "needs_second_factor"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/agents/not-a-uuid"),
        ("PUT", "/api/v1/agents/1/role"),
        ("POST", "/api/v1/admin/jobs/'; DROP TABLE agents;--/retry"),
        ("DELETE", "/api/v1/auth/tokens/../../admin"),
        ("DELETE", "/api/v1/auth/tokens/%00"),
    ],
)
async def test_malformed_ids_are_4xx(
    browsers: BrowserFactory, db: Database, clock: FrozenClock, method: str, url: str
) -> None:
    browser = await _admin_browser(browsers, db, clock)
    before = await _stored(db)
    response = await browser.http.request(
        method, url, json={"role": "agent"}, headers=browser.unsafe_headers()
    )
    assert 400 <= response.status_code < 500, response.text
    assert_error(response, response.status_code)
    assert await _stored(db) == before


async def test_odd_but_well_formed_logins_are_plain_401s(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    await make_agent(db.sessionmaker, "li@kefu.test")
    browser = await browsers()
    for email, password in [
        ("li\x00@kefu.test", PASSWORD),
        ("li@kefu.test\r\nX-Injected: 1", PASSWORD),
        ("' OR 1=1 --", PASSWORD),
        ("li@kefu.test", PASSWORD + "\x00"),
        ("ｌｉ@kefu.test", PASSWORD),
        ("x" * 320, "y" * 1024),
    ]:
        response = await browser.login(email, password, **{"user-agent": "ua\x00\r\n" + "z" * 5000})
        assert_error(response, 401, "not_authenticated")
        assert response.json()["error"]["message"] == "Invalid email or password"
    # Those failures were counted against their own keys, not against li's account.
    assert (await browser.login("li@kefu.test")).status_code == 200
    del client
    # Sessions store a bounded user agent, without control characters.
    ok = await (await browsers()).login("li@kefu.test", **{"user-agent": "ua\x00\r\n" + "z" * 5000})
    assert ok.status_code == 200, ok.text
    assert uuid.UUID(ok.json()["agent"]["id"])
