"""A route-by-route hostile-input sweep driven by the app's own OpenAPI document.

For every operation and every kind of caller, malformed bodies, hostile path values and hostile query
strings must be answered with a 4xx in the API error shape, never a 5xx, and must add no rows. The
sweeps collect every problem before failing, so one run lists them all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kefu.auth.models import Agent, AgentSession, ApiToken
from kefu.auth.roles import Role, Scope
from kefu.contacts.models import Contact
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.runtime import Runtime
from kefu.web.app import create_app
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent, make_customer, open_conversation
from tests.web.hostile import (
    FOREIGN_ORIGIN,
    HOSTILE_PATH_VALUES,
    HostileBody,
    Operation,
    answer_problems,
    cors_problems,
    error_shape_problems,
    fullwidth,
    hostile_bodies,
    hostile_queries,
    operations,
    other_spellings,
    sample,
)

COUNTED = (Conversation, Message, Attachment, Contact, Agent, ApiToken, AgentSession)
CALLERS = ("admin", "anonymous", "customer", "agent_session")
# Path and query parsing do not depend on how an agent signed in: the session caller adds nothing there.
API_CALLERS = ("admin", "anonymous", "customer")
AGENT_EMAIL = "hostile-agent@kefu.test"

# A body each schema's route would accept, so that a refusal is caused by the one hostile change.
# Schemas not listed (new routes) fall back to a generated sample of their required properties.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "ConversationCreate": {"body": "hostile", "customer": {"email": "hostile@example.com"}},
    "MessageCreate": {"body": "hostile"},
    "AgentCreateIn": {"email": "new-agent@kefu.test", "name": "New", "password": "a long new password 42"},
    "CustomerIn": {"email": "hostile@example.com"},
    "TokenCreateIn": {"name": "t", "scopes": ["conversations:read"], "current_password": PASSWORD},
    "LoginIn": {"email": AGENT_EMAIL, "password": PASSWORD},
}


@dataclass(frozen=True)
class World:
    """Callers, ids that exist, and the operations of the served OpenAPI document."""

    headers: dict[str, dict[str, str]]
    conversation_id: str
    agent_id: str
    ops: list[Operation]

    def path_values(self, op: Operation) -> dict[str, str]:
        """Path parameters that name things which exist (or at least parse)."""
        known = {"conversation": self.conversation_id, "agent_id": self.agent_id}
        return {name: known.get(name, str(uuid.uuid4())) for name in op.param_names("path")}


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, but a crash is answered with the 500 a real server sends, not raised here."""
    app = create_app(runtime=runtime, start_worker=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


_documents: list[dict[str, Any]] = []


async def _served_document(api: httpx.AsyncClient) -> dict[str, Any]:
    """The served OpenAPI document, fetched once per worker (building it costs a fifth of a second)."""
    if not _documents:
        response = await api.get("/api/v1/openapi.json")
        assert response.status_code == 200
        _documents.append(response.json())
    return _documents[0]


@pytest.fixture
async def world(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> World:
    admin = await make_agent(db.sessionmaker, "hostile-admin@kefu.test", role=Role.ADMIN, scopes=set(Scope))
    agent = await make_agent(db.sessionmaker, AGENT_EMAIL)
    customer = await make_customer(db.sessionmaker, runtime.settings, "hostile-customer@example.com")
    conversation = await open_conversation(api, customer, subject="target")
    login = await api.post("/api/v1/auth/login", json={"email": AGENT_EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    cookies = "; ".join(f"{name}={value}" for name, value in api.cookies.items())
    api.cookies.clear()
    doc = await _served_document(api)
    world = World(
        headers={
            "admin": admin.headers,
            "anonymous": {},
            "customer": customer.headers,
            "agent_session": {"cookie": cookies, "x-csrf-token": login.json()["csrf_token"]},
        },
        conversation_id=str(conversation["id"]),
        agent_id=str(agent.id),
        ops=operations(doc),
    )
    # The sweep would be vacuous if the callers were refused outright.
    assert (await api.get("/api/v1/admin/jobs", headers=world.headers["admin"])).status_code == 200
    assert (await api.get("/api/v1/auth/tokens", headers=world.headers["agent_session"])).status_code == 200
    mine = await api.get(f"/api/v1/conversations/{world.conversation_id}", headers=customer.headers)
    assert mine.status_code == 200
    return world


async def _counts(db: Database) -> dict[str, int]:
    async with db.sessionmaker() as session:
        return {
            model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in COUNTED
        }


async def _send(
    api: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    *,
    content: bytes | None = None,
    params: tuple[tuple[str, str], ...] = (),
) -> httpx.Response:
    return await api.request(method, url, headers=headers, content=content, params=params or None)


def _report(problems: list[str]) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(problems[:200])


def _base_body(op: Operation) -> dict[str, Any]:
    assert op.body_schema is not None
    title = str(op.body_schema.get("title", ""))
    base = VALID_BODIES.get(title)
    if base is not None:
        return base
    generated = sample(op.body_schema)
    return generated if isinstance(generated, dict) else {}


# --- the sweeps -----------------------------------------------------------------------------------


def test_the_document_resolves_and_lists_routes_with_bodies_and_parameters() -> None:
    """Guard against a vacuous sweep: the helpers see bodies, path and query parameters."""
    from kefu.settings import Settings

    app = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", run_worker_in_serve=False))
    ops = operations(app.openapi())  # raises KeyError on a dangling $ref
    assert len(ops) >= 20
    assert any(op.body_schema and op.body_schema.get("title") == "ConversationCreate" for op in ops)
    assert any(op.param_names("path") for op in ops)
    assert any(op.param_names("query") for op in ops)


@pytest.mark.parametrize("caller", CALLERS)
async def test_malformed_bodies_are_refused(
    caller: str, api: httpx.AsyncClient, world: World, db: Database
) -> None:
    problems: list[str] = []
    headers = world.headers[caller]
    for op in world.ops:
        if not op.body_types:
            continue
        url = op.url(world.path_values(op))
        before = await _counts(db)
        for case in hostile_bodies(op, _base_body(op)):
            assert isinstance(case, HostileBody)
            request_headers = dict(headers)
            if case.content_type is not None:
                request_headers["content-type"] = case.content_type
            response = await _send(api, op.method, url, request_headers, content=case.content)
            for problem in answer_problems(response, must_refuse=case.must_refuse):
                problems.append(f"{caller} {op.label} [{case.label}]: {problem} {response.text[:150]}")
        after = await _counts(db)
        if after != before:
            problems.append(f"{caller} {op.label}: rows changed {before} -> {after}")
    assert not problems, _report(problems)


@pytest.mark.parametrize("caller", API_CALLERS)
async def test_hostile_path_parameters_are_refused(
    caller: str, api: httpx.AsyncClient, world: World, db: Database
) -> None:
    problems: list[str] = []
    headers = world.headers[caller]
    for op in world.ops:
        for name in op.param_names("path"):
            values = world.path_values(op)
            cases = [*HOSTILE_PATH_VALUES, (fullwidth(str(uuid.uuid4())), False)]
            before = await _counts(db)
            for value, raw in cases:
                url = op.url({**values, name: value}, raw=frozenset({name}) if raw else frozenset())
                # A body the route would accept, so that only the path is hostile.
                content = json.dumps(_base_body(op)).encode() if op.body_schema else None
                request_headers = {**headers, "content-type": "application/json"} if content else headers
                response = await _send(api, op.method, url, request_headers, content=content)
                for problem in answer_problems(response, must_refuse=True):
                    problems.append(
                        f"{caller} {op.label} [{name}={value[:40]!r}]: {problem} {response.text[:150]}"
                    )
            after = await _counts(db)
            if after != before:
                problems.append(f"{caller} {op.label} [{name}]: rows changed {before} -> {after}")
    assert not problems, _report(problems)


async def test_other_spellings_of_real_ids_never_crash(api: httpx.AsyncClient, world: World) -> None:
    """Uppercase, hyphen-less, braced and urn: spellings of an existing id: the object or a 4xx."""
    problems: list[str] = []
    for op in world.ops:
        if op.method != "GET":
            continue
        for name in op.param_names("path"):
            values = world.path_values(op)
            for spelling in other_spellings(values[name]):
                response = await _send(api, "GET", op.url({**values, name: spelling}), world.headers["admin"])
                problems += [
                    f"{op.label} [{spelling}]: {p}" for p in answer_problems(response, must_refuse=False)
                ]
    assert not problems, _report(problems)


async def test_fullwidth_digits_do_not_spell_a_real_id(api: httpx.AsyncClient, world: World) -> None:
    problems: list[str] = []
    for op in world.ops:
        if op.method != "GET":
            continue
        for name in op.param_names("path"):
            values = world.path_values(op)
            look_alike = fullwidth(values[name])
            response = await _send(api, "GET", op.url({**values, name: look_alike}), world.headers["admin"])
            problems += [
                f"{op.label} [{look_alike}]: {p}" for p in answer_problems(response, must_refuse=True)
            ]
    assert not problems, _report(problems)


@pytest.mark.parametrize("caller", API_CALLERS)
async def test_hostile_query_parameters_never_crash(
    caller: str, api: httpx.AsyncClient, world: World, db: Database
) -> None:
    """Wrong types, out-of-range numbers and over-long strings are refused; odd strings never crash."""
    problems: list[str] = []
    headers = world.headers[caller]
    for op in world.ops:
        query = [p for p in op.params if p.location == "query"]
        if not query:
            continue
        url = op.url(world.path_values(op))
        before = await _counts(db)
        for param in query:
            for case in hostile_queries(param):
                target = f"{url}?{case.raw}" if case.raw else url
                response = await _send(api, op.method, target, headers, params=case.params)
                for problem in answer_problems(response, must_refuse=case.must_refuse):
                    problems.append(f"{caller} {op.label} [{case.label}]: {problem} {response.text[:150]}")
        after = await _counts(db)
        if after != before:
            problems.append(f"{caller} {op.label}: rows changed {before} -> {after}")
    assert not problems, _report(problems)


# Response headers do not depend on the database backend: SQLite is enough here.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("caller", CALLERS)
async def test_no_credentialed_cors_for_foreign_origins(
    caller: str, api: httpx.AsyncClient, world: World
) -> None:
    problems: list[str] = []
    for op in world.ops:
        url = op.url(world.path_values(op))
        for origin in (FOREIGN_ORIGIN, "null"):
            headers = {**world.headers[caller], "origin": origin}
            preflight = await api.options(
                url,
                headers={
                    **headers,
                    "access-control-request-method": op.method,
                    "access-control-request-headers": "authorization, content-type, x-csrf-token",
                },
            )
            # GETs only: a state change from a foreign origin would be refused anyway, and must not run.
            if op.method == "GET":
                actual = await api.get(url, headers=headers)
                problems += [f"{caller} {op.label} {origin}: {p}" for p in cors_problems(actual)]
            problems += [f"{caller} OPTIONS {op.path} {origin}: {p}" for p in cors_problems(preflight)]
            if preflight.status_code >= 500:
                problems.append(f"{caller} OPTIONS {op.path}: status {preflight.status_code}")
    assert not problems, _report(problems)


async def test_cookie_callers_from_foreign_origins_cannot_change_state(
    api: httpx.AsyncClient, world: World, db: Database
) -> None:
    """A browser session replayed cross-site (valid CSRF token even) changes nothing anywhere."""
    problems: list[str] = []
    before = await _counts(db)
    for op in world.ops:
        if op.method == "GET":
            continue
        headers = {
            **world.headers["agent_session"],
            "origin": FOREIGN_ORIGIN,
            "content-type": "application/json",
        }
        content = json.dumps(_base_body(op)).encode() if op.body_schema else None
        response = await _send(api, op.method, op.url(world.path_values(op)), headers, content=content)
        problems += [f"{op.label}: {p}" for p in answer_problems(response, must_refuse=True)]
    assert not problems, _report(problems)
    assert await _counts(db) == before


# --- arbitrary JSON (Hypothesis) ----------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None), max_size=30)
)
_json: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Mostly objects with the real field names, so that validation goes past the first check.
_known_keys = st.sampled_from(
    [
        "body",
        "subject",
        "customer",
        "form_fields",
        "category",
        "priority",
        "locale",
        "tags",
        "team_id",
        "client_id",
        "kind",
        "status",
        "email",
        "name",
        "phone",
        "exchange_uid",
        "uid",
        "amount",
        "tx_hash",
    ]
)
_shaped = st.dictionaries(_known_keys, _json, max_size=6)
_shaped_nested = st.dictionaries(
    _known_keys, st.one_of(_json, st.dictionaries(_known_keys, _json, max_size=4)), max_size=6
)
json_bodies: st.SearchStrategy[Any] = st.one_of(_json, _shaped, _shaped_nested)

_fuzz_settings = hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fuzz_problems(response: httpx.Response, label: str) -> list[str]:
    if 200 <= response.status_code < 300:
        body = response.json()
        return [] if isinstance(body, dict) and "id" in body else [f"{label}: 2xx without an id: {body}"]
    return [f"{label}: {p} {response.text[:200]}" for p in answer_problems(response, must_refuse=True)]


@_fuzz_settings
@given(body=json_bodies)
async def test_arbitrary_json_never_crashes_conversation_creation(
    body: Any, api: httpx.AsyncClient, world: World
) -> None:
    content = json.dumps(body).encode()
    problems: list[str] = []
    for caller in ("anonymous", "customer", "admin"):
        headers = {**world.headers[caller], "content-type": "application/json"}
        response = await _send(api, "POST", "/api/v1/conversations", headers, content=content)
        problems += _fuzz_problems(response, f"{caller} {content[:200]!r}")
    assert not problems, _report(problems)


@_fuzz_settings
@given(body=json_bodies)
async def test_arbitrary_json_never_crashes_message_creation(
    body: Any, api: httpx.AsyncClient, world: World
) -> None:
    content = json.dumps(body).encode()
    url = f"/api/v1/conversations/{world.conversation_id}/messages"
    problems: list[str] = []
    for caller in ("customer", "admin"):
        headers = {**world.headers[caller], "content-type": "application/json"}
        response = await _send(api, "POST", url, headers, content=content)
        problems += _fuzz_problems(response, f"{caller} {content[:200]!r}")
    assert not problems, _report(problems)


# --- stored hostile strings come back unchanged, as JSON ------------------------------------------

HOSTILE_STRINGS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(document.cookie)>',
    "line one\r\nSet-Cookie: pwned=1\r\n\r\n<html>",
    "invoice\u202egnp.exe",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "</script><svg/onload=alert(1)>",
)


async def test_hostile_strings_round_trip_unchanged_as_json(
    api: httpx.AsyncClient, world: World, db: Database, runtime: Runtime
) -> None:
    customer = world.headers["customer"]
    admin = world.headers["admin"]
    for text in HOSTILE_STRINGS:
        created = await api.post(
            "/api/v1/conversations",
            json={
                "subject": f"subject {text} end",
                "body": text,
                "category": "account_access",
                "form_fields": {"error_message": f"error {text} end"},
            },
            headers=customer,
        )
        assert created.status_code == 201, created.text
        conversation_id = created.json()["id"]
        note = await api.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": text, "kind": "note"},
            headers=admin,
        )
        assert note.status_code == 201, note.text
        responses = [
            created,
            note,
            await api.get(f"/api/v1/conversations/{conversation_id}", headers=customer),
            await api.get(f"/api/v1/conversations/{conversation_id}/messages", headers=admin),
            await api.get("/api/v1/conversations", headers=customer),
        ]
        for response in responses:
            assert response.headers["content-type"] == "application/json"
            assert response.headers["x-content-type-options"] == "nosniff"
        shown = responses[2].json()
        assert shown["subject"] == f"subject {text} end"
        assert shown["form_fields"] == {"error_message": f"error {text} end"}
        assert [m["body"] for m in responses[3].json()["items"]] == [text, text]
        assert note.json()["body"] == text
        listed = {c["id"]: c["subject"] for c in responses[4].json()["items"]}
        assert listed[conversation_id] == f"subject {text} end"


async def test_error_shape_helper_rejects_non_conforming_answers() -> None:
    """The checker itself: a sweep with a blind checker would pass anything."""

    def response(status: int, body: Any, content_type: str = "application/json") -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(body).encode(), headers={"content-type": content_type}
        )

    assert (
        error_shape_problems(response(422, {"error": {"code": "x", "message": "y", "fields": {"a": "b"}}}))
        == []
    )
    assert error_shape_problems(response(422, {"detail": "nope"}))
    assert error_shape_problems(response(400, {"error": {"code": 1, "message": "y"}}))
    assert error_shape_problems(response(400, {"error": {"code": "x", "message": "y"}}, "text/html"))
    assert error_shape_problems(response(400, {"error": {"code": "x", "message": "y", "fields": [1]}}))
    assert answer_problems(response(500, {"error": {"code": "x", "message": "y"}}), must_refuse=False)
    assert answer_problems(response(201, {"id": 1}), must_refuse=True)
    granted = httpx.Response(
        200,
        headers={"access-control-allow-origin": "*", "access-control-allow-credentials": "true"},
    )
    assert cors_problems(granted)
