"""Administration over HTTP: only admins (second factor done, or an admin-scope token) manage agents,
roles, jobs and the audit log; the last admin stays; colleagues' records are not for plain agents."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.models import Agent
from kefu.auth.roles import Role, Scope
from kefu.contacts.models import Contact
from kefu.core.clock import FrozenClock, utcnow
from kefu.db.uow import transaction
from kefu.jobs.models import JobStatus, OutboxJob
from tests.conftest import Database
from tests.factories import PASSWORD, make_agent
from tests.web.api.v1.conftest import Browser, BrowserFactory, assert_error, count_rows, signed_in_admin

NEW_AGENT = {
    "email": "new@kefu.test",
    "name": "New Person",
    "role": "agent",
    "password": "a long enough pass 1",
}

Call = Callable[[str, str, object], Awaitable[httpx.Response]]


async def _dead_job(db: Database) -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        job = OutboxJob(
            name="webhook.deliver",
            payload={"url": "https://hooks.example/x"},
            status=JobStatus.DEAD,
            attempts=8,
            max_attempts=8,
            last_error="connection refused",
            finished_at=utcnow(),
        )
        session.add(job)
        await session.flush()
        return job.id


def _admin_requests(target: uuid.UUID, job: uuid.UUID) -> list[tuple[str, str, object]]:
    return [
        ("POST", "/api/v1/agents", NEW_AGENT),
        ("PUT", f"/api/v1/agents/{target}/role", {"role": "admin"}),
        ("GET", "/api/v1/admin/jobs", None),
        ("POST", f"/api/v1/admin/jobs/{job}/retry", None),
        ("GET", "/api/v1/admin/audit", None),
        ("POST", "/api/v1/customers/tokens", {"email": "cust@example.com"}),
    ]


def _token_caller(client: httpx.AsyncClient, headers: dict[str, str]) -> Call:
    async def call(method: str, url: str, body: object) -> httpx.Response:
        return await client.request(method, url, json=body, headers=headers)

    return call


def _browser_caller(browser: Browser) -> Call:
    async def call(method: str, url: str, body: object) -> httpx.Response:
        headers = browser.unsafe_headers() if method != "GET" else {}
        return await browser.http.request(method, url, json=body, headers=headers)

    return call


@pytest.mark.parametrize("who", ["agent", "supervisor", "kyc_reviewer", "admin-without-admin-scope"])
async def test_non_admin_tokens_get_403_everywhere(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, who: str
) -> None:
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    job = await _dead_job(db)
    roles = {"agent": Role.AGENT, "supervisor": Role.SUPERVISOR, "kyc_reviewer": Role.KYC_REVIEWER}
    caller = await make_agent(
        db.sessionmaker,
        "caller@kefu.test",
        role=roles.get(who, Role.ADMIN),
        scopes={Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE},
    )
    await _assert_all_refused(_token_caller(client, caller.headers), db, target.id, job)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
async def test_non_admin_sessions_get_403_everywhere(
    browsers: BrowserFactory, db: Database, clock: FrozenClock, role: Role
) -> None:
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    job = await _dead_job(db)
    await make_agent(db.sessionmaker, "caller@kefu.test", role=role)
    browser = await browsers()
    assert (await browser.login("caller@kefu.test")).json()["state"] == "active"
    await _assert_all_refused(_browser_caller(browser), db, target.id, job)


async def _assert_all_refused(call: Call, db: Database, target: uuid.UUID, job: uuid.UUID) -> None:
    agents, contacts = await count_rows(db, Agent), await count_rows(db, Contact)
    for method, url, body in _admin_requests(target, job):
        assert_error(await call(method, url, body), 403, "permission_denied")
    async with db.sessionmaker() as session:
        assert (await session.get(Agent, target)).role == Role.AGENT  # type: ignore[union-attr]
        assert (await session.get(OutboxJob, job)).status == JobStatus.DEAD  # type: ignore[union-attr]
    assert (await count_rows(db, Agent), await count_rows(db, Contact)) == (agents, contacts)


async def test_anonymous_callers_get_401(client: httpx.AsyncClient, db: Database) -> None:
    for method, url, body in _admin_requests(uuid.uuid4(), uuid.uuid4()):
        assert_error(await client.request(method, url, json=body), 401, "not_authenticated")


@pytest.mark.parametrize("via", ["session", "token"])
async def test_admins_can_do_everything(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock, via: str
) -> None:
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    job = await _dead_job(db)
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    if via == "session":
        call = _browser_caller(await signed_in_admin(browsers, clock, "root@kefu.test"))
    else:
        call = _token_caller(client, admin.headers)

    created = await call("POST", "/api/v1/agents", NEW_AGENT)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "new@kefu.test"
    assert created.json()["role"] == "agent"
    assert "password" not in created.text
    duplicate = await call("POST", "/api/v1/agents", NEW_AGENT | {"email": "NEW@kefu.test"})
    assert_error(duplicate, 409, "conflict")
    fresh = await browsers()
    assert (await fresh.login("new@kefu.test", NEW_AGENT["password"])).json()["state"] == "active"

    promoted = await call("PUT", f"/api/v1/agents/{target.id}/role", {"role": "supervisor"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "supervisor"

    jobs = await call("GET", "/api/v1/admin/jobs?status=dead", None)
    assert jobs.status_code == 200, jobs.text
    assert [j["id"] for j in jobs.json()["items"]] == [str(job)]
    assert jobs.json()["counts"]["dead"] == 1
    retried = await call("POST", f"/api/v1/admin/jobs/{job}/retry", None)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert_error(await call("POST", f"/api/v1/admin/jobs/{job}/retry", None), 404)  # no longer dead
    assert_error(await call("POST", f"/api/v1/admin/jobs/{uuid.uuid4()}/retry", None), 404)

    issued = await call("POST", "/api/v1/customers/tokens", {"email": "cust@example.com"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["customer_token"].startswith("kfc_")

    audit = await call("GET", "/api/v1/admin/audit?action=agent.role_changed", None)
    assert audit.status_code == 200, audit.text
    (event,) = audit.json()
    assert event["actor_type"] == "agent"
    assert event["actor_id"] == str(admin.id)
    assert (event["target_type"], event["target_id"]) == ("agent", str(target.id))
    assert event["details"] == {"old_role": "agent", "new_role": "supervisor", "revoked_token_count": 0}
    created_events = await call("GET", f"/api/v1/admin/audit?target_id={created.json()['id']}", None)
    assert [e["action"] for e in created_events.json()] == ["auth.login_succeeded", "agent.created"]
    assert created_events.json()[1]["actor_id"] == str(admin.id)
    everything = await call("GET", "/api/v1/admin/audit?limit=1000", None)
    assert NEW_AGENT["password"] not in everything.text
    assert PASSWORD not in everything.text


async def test_promotion_to_admin_needs_enrolment_and_revokes_old_tokens(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    signed_in = await browsers()
    assert (await signed_in.login("target@kefu.test")).json()["state"] == "active"
    response = await client.put(
        f"/api/v1/agents/{target.id}/role", json={"role": "admin"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    # The agent's existing session must now enrol a second factor before doing anything.
    assert_error(await signed_in.http.get("/api/v1/admin/audit"), 401)
    assert (await signed_in.http.get("/api/v1/auth/session")).json()["state"] == "must_enroll_second_factor"
    assert_error(await client.get("/api/v1/conversations", headers=target.headers), 401)
    audit = await client.get(
        "/api/v1/admin/audit", params={"action": "agent.role_changed"}, headers=admin.headers
    )
    assert audit.json()[0]["details"]["revoked_token_count"] == 1


async def test_the_last_admin_cannot_be_demoted(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    url = f"/api/v1/agents/{admin.id}/role"
    assert_error(await client.put(url, json={"role": "agent"}, headers=admin.headers), 409, "conflict")
    second = await make_agent(db.sessionmaker, "root2@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    demoted = await client.put(
        f"/api/v1/agents/{second.id}/role", json={"role": "supervisor"}, headers=admin.headers
    )
    assert demoted.status_code == 200, demoted.text
    # The demoted admin's admin-scope token lost its power with the role.
    assert_error(await client.get("/api/v1/admin/jobs", headers=second.headers), 403)
    assert_error(await client.put(url, json={"role": "agent"}, headers=admin.headers), 409)
    async with db.sessionmaker() as session:
        roles = dict((await session.execute(select(Agent.email, Agent.role))).all())
        refused = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "agent.role_changed", AuditEvent.target_id == str(admin.id)
            )
        )
    assert roles == {"root@kefu.test": Role.ADMIN, "root2@kefu.test": Role.SUPERVISOR}
    assert refused is None
    assert_error(
        await client.put(
            f"/api/v1/agents/{uuid.uuid4()}/role", json={"role": "agent"}, headers=admin.headers
        ),
        404,
    )


async def test_agent_records_are_visible_to_self_supervisors_and_admins_only(
    client: httpx.AsyncClient, db: Database
) -> None:
    plain = await make_agent(db.sessionmaker, "li@kefu.test")
    colleague = await make_agent(db.sessionmaker, "wang@kefu.test")
    supervisor = await make_agent(db.sessionmaker, "sup@kefu.test", role=Role.SUPERVISOR)
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    missing = uuid.uuid4()

    own = await client.get(f"/api/v1/agents/{plain.id}", headers=plain.headers)
    assert own.status_code == 200
    assert own.json()["email"] == "li@kefu.test"
    hidden = await client.get(f"/api/v1/agents/{colleague.id}", headers=plain.headers)
    absent = await client.get(f"/api/v1/agents/{missing}", headers=plain.headers)
    assert_error(hidden, 404, "not_found")
    assert hidden.json() == absent.json()  # missing and forbidden look the same
    for viewer in (supervisor, admin):
        seen = await client.get(f"/api/v1/agents/{colleague.id}", headers=viewer.headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["id"] == str(colleague.id)
        assert_error(await client.get(f"/api/v1/agents/{missing}", headers=viewer.headers), 404)
    listed = await client.get("/api/v1/agents", headers=plain.headers)
    assert listed.status_code == 200
    assert {a["email"] for a in listed.json()} == {
        "li@kefu.test",
        "wang@kefu.test",
        "sup@kefu.test",
        "root@kefu.test",
    }
    assert all(set(a) == {"id", "email", "name", "role", "second_factor_enabled"} for a in listed.json())


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "5000"}, "limit"),
        ({"action": "x" * 101}, "action"),
        ({"target_id": "x" * 101}, "target_id"),
    ],
)
async def test_audit_query_validation(
    client: httpx.AsyncClient, db: Database, params: dict[str, str], field: str
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    error = assert_error(await client.get("/api/v1/admin/audit", params=params, headers=admin.headers), 422)
    assert field in error["fields"]


@pytest.mark.parametrize(
    ("params", "field"), [({"status": "exploded"}, "status"), ({"limit": "501"}, "limit")]
)
async def test_jobs_query_validation(
    client: httpx.AsyncClient, db: Database, params: dict[str, str], field: str
) -> None:
    admin = await make_agent(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    error = assert_error(await client.get("/api/v1/admin/jobs", params=params, headers=admin.headers), 422)
    assert field in error["fields"]
