"""Administering agents over HTTP: profile, deactivation (sessions and tokens die at once, open work
goes back to the team), reactivation, second-factor reset, teams; guard rails for oneself and the last
administrator; only admins, everything audited, malformed input changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.models import AuditEvent
from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent, AgentSession, ApiToken
from kefu.auth.roles import Role, Scope
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock
from kefu.core.errors import Conflict
from kefu.db.uow import transaction
from kefu.inboxes.models import TeamMember
from kefu.staff.agents import do_deactivate_agent
from tests.conftest import Database
from tests.factories import PASSWORD, StaffMember, make_agent, make_team, open_conversation
from tests.web.api.v1.conftest import BrowserFactory, assert_error, count_rows, signed_in_admin

ALL = {Scope.ADMIN, Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}


async def _admin(db: Database, email: str = "root@kefu.test") -> StaffMember:
    return await make_agent(db.sessionmaker, email, role=Role.ADMIN, scopes=ALL)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def _agent(db: Database, agent_id: uuid.UUID) -> Agent:
    async with db.sessionmaker() as session:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return agent


async def _assigned(
    client: httpx.AsyncClient, who: StaffMember, subject: str, team: uuid.UUID | None = None
) -> dict[str, object]:
    """A conversation (in `team`) assigned to `who`."""
    created = await open_conversation(
        client, who, subject=subject, **({"team_id": str(team)} if team else {})
    )
    assigned = await client.patch(
        f"/api/v1/conversations/{created['id']}", json={"assignee_id": str(who.id)}, headers=who.headers
    )
    assert assigned.status_code == 200, assigned.text
    return dict(assigned.json())


def _requests(target: uuid.UUID, team: uuid.UUID) -> list[tuple[str, str, object]]:
    return [
        ("GET", "/api/v1/admin/agents", None),
        ("PATCH", f"/api/v1/agents/{target}", {"name": "Hijacked"}),
        ("POST", f"/api/v1/agents/{target}/deactivate", None),
        ("POST", f"/api/v1/agents/{target}/reactivate", None),
        ("POST", f"/api/v1/agents/{target}/second-factor/reset", None),
        ("PUT", f"/api/v1/agents/{target}/teams", {"team_ids": [str(team)]}),
    ]


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.KYC_REVIEWER, Role.ADMIN])
async def test_non_admin_callers_are_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, role: Role
) -> None:
    team = await make_team(db.sessionmaker, "Funds")
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    # An admin's token without the admin scope is no admin either.
    caller = await make_agent(db.sessionmaker, "caller@kefu.test", role=role)
    for method, url, body in _requests(target.id, team):
        assert_error(await client.request(method, url, json=body, headers=caller.headers), 403)
    agent = await _agent(db, target.id)
    assert (agent.name, agent.is_active) == ("target", True)
    assert await count_rows(db, TeamMember) == 0
    assert len(await _audit(db, "access.denied")) == len(_requests(target.id, team))


async def test_a_supervisor_session_is_refused(
    browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    team = await make_team(db.sessionmaker, "Funds")
    target = await make_agent(db.sessionmaker, "target@kefu.test")
    await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    browser = await browsers()
    assert (await browser.login("boss@kefu.test")).json()["state"] == "active"
    for method, url, body in _requests(target.id, team):
        headers = browser.unsafe_headers() if method != "GET" else {}
        assert_error(await browser.http.request(method, url, json=body, headers=headers), 403)
    assert (await _agent(db, target.id)).is_active


async def test_signed_out_callers_get_401(client: httpx.AsyncClient) -> None:
    for method, url, body in _requests(uuid.uuid4(), uuid.uuid4()):
        assert_error(await client.request(method, url, json=body), 401, "not_authenticated")


async def test_deactivation_ends_sessions_tokens_and_hands_work_back(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    admin = await _admin(db)
    funds = await make_team(db.sessionmaker, "Funds")
    li = await make_agent(db.sessionmaker, "li@kefu.test", teams=(funds,))
    wang = await make_agent(db.sessionmaker, "wang@kefu.test", teams=(funds,))
    browser = await browsers()
    assert (await browser.login("li@kefu.test")).json()["state"] == "active"
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200
    assert (await client.get("/api/v1/conversations", headers=li.headers)).status_code == 200

    open_one = await _assigned(client, li, "Open", funds)
    solved = await _assigned(client, li, "Done", funds)
    marked = await client.patch(
        f"/api/v1/conversations/{solved['id']}", json={"status": "solved"}, headers=li.headers
    )
    assert marked.status_code == 200, marked.text
    others = await _assigned(client, wang, "Wang's")

    out = _ok(await client.post(f"/api/v1/agents/{li.id}/deactivate", headers=admin.headers))
    assert out["is_active"] is False
    assert out["team_ids"] == [str(funds)]  # memberships are kept for a reactivation

    # The old cookie and the old token stop working at once; signing in is refused.
    assert_error(await browser.http.get("/api/v1/conversations"), 401)
    assert_error(await client.get("/api/v1/conversations", headers=li.headers), 401)
    fresh = await browsers()
    assert_error(await fresh.login("li@kefu.test"), 401)

    async with db.sessionmaker() as session:
        rows = {c.subject: c for c in await session.scalars(select(Conversation))}
        sessions = list(await session.scalars(select(AgentSession).where(AgentSession.agent_id == li.id)))
        tokens = list(await session.scalars(select(ApiToken).where(ApiToken.agent_id == li.id)))
    assert rows["Open"].assignee_id is None
    assert rows["Open"].team_id == funds
    assert rows["Done"].assignee_id == li.id
    assert rows["Wang's"].assignee_id == wang.id
    assert all(s.revoked_at is not None for s in sessions)
    assert all(t.revoked_at is not None for t in tokens)
    assert open_one["id"] == str(rows["Open"].id)
    assert others
    (event,) = await _audit(db, "agent.deactivated")
    assert event.actor_id == admin.id
    assert event.details == {
        "revoked_session_count": 1,
        "revoked_token_count": 1,
        "unassigned_conversation_count": 1,
    }
    listed = _ok(await client.get("/api/v1/admin/agents", headers=admin.headers))
    assert {a["email"]: a["is_active"] for a in listed}["li@kefu.test"] is False
    # Colleagues' lists show active agents only.
    assert "li@kefu.test" not in [
        a["email"] for a in _ok(await client.get("/api/v1/agents", headers=admin.headers))
    ]
    again = _ok(await client.post(f"/api/v1/agents/{li.id}/deactivate", headers=admin.headers))
    assert again["is_active"] is False
    assert len(await _audit(db, "agent.deactivated")) == 1

    back = _ok(await client.post(f"/api/v1/agents/{li.id}/reactivate", headers=admin.headers))
    assert back["is_active"] is True
    assert (await fresh.login("li@kefu.test")).json()["state"] == "active"
    assert_error(await client.get("/api/v1/conversations", headers=li.headers), 401)  # tokens stay revoked
    assert len(await _audit(db, "agent.reactivated")) == 1


async def test_guard_rails_for_oneself_and_the_last_admin(
    client: httpx.AsyncClient, db: Database, session: AsyncSession
) -> None:
    admin = await _admin(db)
    other = await _admin(db, "root2@kefu.test")
    own = f"/api/v1/agents/{admin.id}"
    for method, url, body in [
        ("PUT", f"{own}/role", {"role": "supervisor"}),
        ("POST", f"{own}/deactivate", None),
        ("POST", f"{own}/second-factor/reset", None),
    ]:
        refused = assert_error(await client.request(method, url, json=body, headers=admin.headers), 409)
        assert "another administrator" in refused["message"]
    assert (
        _ok(await client.put(f"{own}/role", json={"role": "admin"}, headers=admin.headers))["role"] == "admin"
    )
    assert (await _agent(db, admin.id)).is_active

    # Another admin may be demoted or deactivated while one remains.
    _ok(await client.post(f"/api/v1/agents/{other.id}/deactivate", headers=admin.headers))
    # An inactive admin does not count: deactivation by a stale actor never removes the last one.
    stale = AgentActor(agent_id=uuid.uuid4(), role=Role.ADMIN)
    with pytest.raises(Conflict, match="last active administrator"):
        await do_deactivate_agent(session, stale, admin.id, ip=None)
    await session.rollback()
    assert (await _agent(db, admin.id)).is_active


async def test_second_factor_reset_forces_re_enrolment(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    admin = await _admin(db)
    await _admin(db, "root2@kefu.test")
    other = await signed_in_admin(browsers, clock, "root2@kefu.test")
    assert (await other.http.get("/api/v1/admin/agents")).status_code == 200
    target = await _agent_id(db, "root2@kefu.test")

    out = _ok(await client.post(f"/api/v1/agents/{target}/second-factor/reset", headers=admin.headers))
    assert out["second_factor_enabled"] is False
    assert_error(await other.http.get("/api/v1/admin/agents"), 401)
    again = await browsers()
    assert (await again.login("root2@kefu.test")).json()["state"] == "must_enroll_second_factor"
    (event,) = await _audit(db, "agent.second_factor_reset")
    assert event.details == {"had_second_factor": True, "must_enrol": True, "revoked_session_count": 1}


async def _agent_id(db: Database, email: str) -> uuid.UUID:
    async with db.sessionmaker() as session:
        found = await session.scalar(select(Agent.id).where(Agent.email == email))
        assert found is not None
        return found


async def test_profile_changes_and_a_new_email_signs_the_agent_out(
    client: httpx.AsyncClient, browsers: BrowserFactory, db: Database, clock: FrozenClock
) -> None:
    admin = await _admin(db)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    await make_agent(db.sessionmaker, "wang@kefu.test")
    browser = await browsers()
    assert (await browser.login("li@kefu.test")).json()["state"] == "active"
    url = f"/api/v1/agents/{li.id}"

    renamed = _ok(await client.patch(url, json={"name": "  Li   Wei "}, headers=admin.headers))
    assert renamed["name"] == "Li Wei"
    assert (await browser.http.get("/api/v1/conversations")).status_code == 200  # a name is not an identity

    taken = assert_error(
        await client.patch(url, json={"email": "WANG@kefu.test"}, headers=admin.headers), 409
    )
    assert taken["fields"] == {"email": "taken"}
    moved = _ok(await client.patch(url, json={"email": "Li.Wei@Kefu.test"}, headers=admin.headers))
    assert moved["email"] == "li.wei@kefu.test"
    assert_error(await browser.http.get("/api/v1/conversations"), 401)
    fresh = await browsers()
    assert_error(await fresh.login("li@kefu.test"), 401)
    assert (await fresh.login("li.wei@kefu.test", PASSWORD)).json()["state"] == "active"
    events = await _audit(db, "agent.updated")
    assert [e.details for e in events] == [
        {"name_changed": True},
        {"old_email": "li@kefu.test", "new_email": "li.wei@kefu.test", "revoked_session_count": 1},
    ]


async def test_teams_are_set_as_a_whole(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    funds, vip = await make_team(db.sessionmaker, "Funds"), await make_team(db.sessionmaker, "VIP")
    li = await make_agent(db.sessionmaker, "li@kefu.test", teams=(funds,))
    url = f"/api/v1/agents/{li.id}/teams"
    out = _ok(await client.put(url, json={"team_ids": [str(vip), str(vip)]}, headers=admin.headers))
    assert out["team_ids"] == [str(vip)]
    (event,) = await _audit(db, "agent.teams_changed")
    assert event.details == {"added_team_ids": [str(vip)], "removed_team_ids": [str(funds)]}
    unknown = await client.put(url, json={"team_ids": [str(uuid.uuid4())]}, headers=admin.headers)
    assert assert_error(unknown, 422)["fields"] == {"team_ids": "unknown team"}
    assert _ok(await client.put(url, json={"team_ids": []}, headers=admin.headers))["team_ids"] == []
    assert await count_rows(db, TeamMember) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", {"name": ""}),
        ("", {"name": "x" * 201}),
        ("", {"name": "bell\x07"}),
        ("", {"name": "rtl\u202eoverride"}),
        ("", {"email": "not-an-email"}),
        ("", {"email": "a@b"}),
        ("", {"email": "x" * 400 + "@kefu.test"}),
        ("", {"role": "admin"}),
        ("", ["name"]),
        ("/teams", {"team_ids": "all"}),
        ("/teams", {"team_ids": ["nope"]}),
        ("/teams", {"team_ids": [str(uuid.uuid4()) for _ in range(101)]}),
        ("/teams", {}),
        ("/role", {"role": "root"}),
    ],
)
async def test_malformed_input_is_4xx_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, path: str, body: object
) -> None:
    admin = await _admin(db)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    method = "PATCH" if path == "" else "PUT"
    response = await client.request(method, f"/api/v1/agents/{li.id}{path}", json=body, headers=admin.headers)
    assert_error(response, 422)
    agent = await _agent(db, li.id)
    assert (agent.name, agent.email, agent.role) == ("li", "li@kefu.test", Role.AGENT)
    assert await _audit(db, "agent.updated") == []


async def test_malformed_ids_and_unknown_agents(client: httpx.AsyncClient, db: Database) -> None:
    admin = await _admin(db)
    for method, url in [
        ("PATCH", "/api/v1/agents/not-a-uuid"),
        ("POST", "/api/v1/agents/1/deactivate"),
        ("POST", "/api/v1/agents/me/reactivate"),
        ("PUT", "/api/v1/agents/x/teams"),
    ]:
        response = await client.request(method, url, json={"name": "x"}, headers=admin.headers)
        assert response.status_code == 422, (method, url, response.text)
    missing = uuid.uuid4()
    for method, url, body in _requests(missing, uuid.uuid4())[1:]:
        if url.endswith("/teams"):
            body = {"team_ids": []}
        assert_error(await client.request(method, url, json=body, headers=admin.headers), 404)
    raw = await client.patch(
        f"/api/v1/agents/{admin.id}",
        content=b"{nope",
        headers=admin.headers | {"content-type": "application/json"},
    )
    assert_error(raw, 400)


async def test_deactivated_agents_cannot_be_added_to_routing(client: httpx.AsyncClient, db: Database) -> None:
    """Deactivation hands open work of an auto-routed team straight to another member."""
    admin = await _admin(db)
    funds = await make_team(db.sessionmaker, "Funds")
    li = await make_agent(db.sessionmaker, "li@kefu.test", teams=(funds,))
    wang = await make_agent(db.sessionmaker, "wang@kefu.test", teams=(funds,))
    for member in (li, wang):
        presence = await client.put(
            "/api/v1/agents/me/presence", json={"status": "online"}, headers=member.headers
        )
        assert presence.status_code == 200, presence.text
    created = await _assigned(client, li, "Route me", funds)
    routed = await client.put(
        f"/api/v1/teams/{funds}/routing", json={"mode": "least_loaded", "language_match": "ignore"},
        headers=admin.headers,
    )  # fmt: skip
    assert routed.status_code == 200, routed.text
    _ok(await client.post(f"/api/v1/agents/{li.id}/deactivate", headers=admin.headers))
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, uuid.UUID(str(created["id"])))
        assert conversation is not None
        assert conversation.assignee_id == wang.id
