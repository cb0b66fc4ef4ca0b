"""The routing API: presence, team routing, routing profiles and transfers; authorization and bad input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kefu.auth.roles import Role, Scope
from kefu.core.clock import FrozenClock
from kefu.routing.models import RoutingMode
from kefu.runtime import Runtime
from kefu.web.api.v1 import routing as routing_routes
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_customer
from tests.routing.conftest import load, member, new_conversation, routed_team


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app, with the routing routes mounted even before the lead wires them into api/v1."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    if not any(getattr(r, "path", "") == "/api/v1/presence" for r in app.routes):
        app.include_router(routing_routes.router, prefix="/api/v1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kefu.test") as c:
        yield c


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def _supervisor(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)


async def test_agents_set_their_own_presence(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    agent = await member(db, "a@kefu.test", status=None)
    response = await api.put("/api/v1/agents/me/presence", json={"status": "online"}, headers=agent.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "online"
    assert response.json()["auto"] is False
    panel = await api.get("/api/v1/presence", headers=agent.headers)
    assert panel.status_code == 200
    row = next(r for r in panel.json() if r["agent_id"] == str(agent.id))
    assert (row["status"], row["load"], row["capacity"], row["languages"]) == ("online", 0, 10, ["en"])


@pytest.mark.parametrize(
    "body",
    [
        {"status": "invisible"},
        {"status": None},
        {},
        {"status": "online", "agent_id": str(uuid.uuid4())},
        {"status": "online\x00"},
        ["online"],
        {"status": "x" * 10_000},
    ],
)
async def test_bad_presence_is_422(api: httpx.AsyncClient, db: Database, body: object) -> None:
    agent = await member(db, "a@kefu.test", status=None)
    _error(await api.put("/api/v1/agents/me/presence", json=body, headers=agent.headers), 422)


async def test_presence_is_for_staff(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> None:
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    _error(
        await api.put("/api/v1/agents/me/presence", json={"status": "online"}, headers=customer.headers), 403
    )
    _error(await api.get("/api/v1/presence", headers=customer.headers), 403)
    _error(await api.get("/api/v1/presence"), 401)
    broken = await api.put(
        "/api/v1/agents/me/presence",
        content=b"{not json",
        headers={**(await member(db, "a@kefu.test")).headers, "content-type": "application/json"},
    )
    assert broken.status_code == 400


async def test_team_routing_is_read_by_agents_and_changed_by_supervisors(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    team = await routed_team(db, "Plain", RoutingMode.MANUAL)
    agent = await member(db, "a@kefu.test", team, capacity=1)
    boss = await _supervisor(db)
    waiting = await new_conversation(db, team)
    url = f"/api/v1/teams/{team}/routing"
    got = await api.get(url, headers=agent.headers)
    assert got.status_code == 200
    assert (got.json()["mode"], got.json()["queue_length"]) == ("manual", 1)
    _error(await api.put(url, json={"mode": "least_loaded"}, headers=agent.headers), 403)
    changed = await api.put(
        url, json={"mode": "least_loaded", "language_match": "require"}, headers=boss.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["language_match"] == "require"
    assert changed.json()["queue_length"] == 0
    assert (await load(db, waiting)).assignee_id == agent.id


async def test_a_team_never_configured_reads_as_manual(api: httpx.AsyncClient, db: Database) -> None:
    from tests.factories import make_team

    team = await make_team(db.sessionmaker, "Fresh")
    agent = await member(db, "a@kefu.test", status=None)
    body = (await api.get(f"/api/v1/teams/{team}/routing", headers=agent.headers)).json()
    assert (body["mode"], body["language_match"], body["last_assigned_agent_id"]) == (
        "manual",
        "prefer",
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "random"},
        {},
        {"mode": "manual", "language_match": "sometimes"},
        {"mode": "manual", "x": 1},
        "manual",
    ],
)
async def test_bad_team_routing_is_422(api: httpx.AsyncClient, db: Database, body: object) -> None:
    team = await routed_team(db, "T")
    boss = await _supervisor(db)
    _error(await api.put(f"/api/v1/teams/{team}/routing", json=body, headers=boss.headers), 422)


async def test_unknown_and_malformed_team_ids(api: httpx.AsyncClient, db: Database) -> None:
    boss = await _supervisor(db)
    missing = f"/api/v1/teams/{uuid.uuid4()}/routing"
    _error(await api.get(missing, headers=boss.headers), 404)
    _error(await api.put(missing, json={"mode": "manual"}, headers=boss.headers), 404)
    _error(await api.get("/api/v1/teams/not-a-uuid/routing", headers=boss.headers), 422)
    _error(await api.get("/api/v1/teams/%00/routing", headers=boss.headers), 400)


async def test_private_team_routing_is_hidden_from_outsiders(api: httpx.AsyncClient, db: Database) -> None:
    vip = await routed_team(db, "VIP", private=True)
    insider = await member(db, "in@kefu.test", vip)
    outsider = await member(db, "out@kefu.test")
    assert (await api.get(f"/api/v1/teams/{vip}/routing", headers=insider.headers)).status_code == 200
    _error(await api.get(f"/api/v1/teams/{vip}/routing", headers=outsider.headers), 404)


async def test_routing_profiles_are_set_by_supervisors_only(
    api: httpx.AsyncClient, db: Database, clock: FrozenClock
) -> None:
    agent = await member(db, "a@kefu.test")
    other = await member(db, "b@kefu.test")
    boss = await _supervisor(db)
    body = {"capacity": 3, "languages": ["zh-CN", "en", "en"]}
    for target in (agent, other):
        _error(
            await api.put(f"/api/v1/agents/{target.id}/routing-profile", json=body, headers=agent.headers),
            403,
        )
    done = await api.put(f"/api/v1/agents/{agent.id}/routing-profile", json=body, headers=boss.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"agent_id": str(agent.id), "capacity": 3, "languages": ["zh-CN", "en"]}
    _error(
        await api.put(f"/api/v1/agents/{uuid.uuid4()}/routing-profile", json=body, headers=boss.headers), 404
    )


@pytest.mark.parametrize(
    "body",
    [
        {"capacity": 201, "languages": []},
        {"capacity": -1},
        {"capacity": "5"},
        {"capacity": 1.5},
        {"capacity": 10**30},
        {"capacity": 5, "languages": ["<script>"]},
        {"capacity": 5, "languages": ["en"] * 21},
        {"capacity": 5, "languages": "en"},
        {"capacity": 5, "languages": ["e\x00"]},
        {"capacity": 5, "role": "admin"},
    ],
)
async def test_bad_routing_profiles_are_422(api: httpx.AsyncClient, db: Database, body: object) -> None:
    agent = await member(db, "a@kefu.test", status=None)
    boss = await _supervisor(db)
    _error(await api.put(f"/api/v1/agents/{agent.id}/routing-profile", json=body, headers=boss.headers), 422)


async def test_transfer_over_the_api(api: httpx.AsyncClient, db: Database, clock: FrozenClock) -> None:
    first = await routed_team(db, "First")
    wallet = await routed_team(db, "Wallet")
    a = await member(db, "a@kefu.test", first)
    w = await member(db, "w@kefu.test", wallet)
    conversation = await new_conversation(db, first)
    url = f"/api/v1/conversations/{conversation}/transfer"
    done = await api.post(url, json={"to_team_id": str(wallet), "note": "chain issue"}, headers=a.headers)
    assert done.status_code == 200, done.text
    assert (done.json()["team_id"], done.json()["assignee_id"]) == (str(wallet), str(w.id))
    back = await api.post(url, json={"to_agent_id": str(a.id), "to_team_id": str(first)}, headers=w.headers)
    assert back.json()["assignee_id"] == str(a.id)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"note": "to nobody"},
        {"to_team_id": "not-a-uuid"},
        {"to_team_id": None, "to_agent_id": None},
        {"to_team_id": "TEAM", "note": "x" * 2001},
        {"to_team_id": "TEAM", "note": "a\x00b"},
        {"to_team_id": "TEAM", "status": "solved"},
        {"to_team_id": str(uuid.UUID(int=7))},
        {"to_agent_id": str(uuid.UUID(int=7))},
    ],
)
async def test_bad_transfers_are_422(api: httpx.AsyncClient, db: Database, body: dict[str, Any]) -> None:
    team = await routed_team(db, "T")
    agent = await member(db, "a@kefu.test", team)
    conversation = await new_conversation(db, team)
    body = {k: (str(team) if v == "TEAM" else v) for k, v in body.items()}
    url = f"/api/v1/conversations/{conversation}/transfer"
    _error(await api.post(url, json=body, headers=agent.headers), 422)


async def test_transfer_gates(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> None:
    vip = await routed_team(db, "VIP", private=True)
    open_team = await routed_team(db, "Open")
    insider = await member(db, "in@kefu.test", vip)
    outsider = await member(db, "out@kefu.test", open_team)
    reader = await make_agent(
        db.sessionmaker, "ro@kefu.test", teams=(vip,), scopes={Scope.CONVERSATIONS_READ}
    )
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    conversation = await new_conversation(db, vip)
    url = f"/api/v1/conversations/{conversation}/transfer"
    body = {"to_team_id": str(open_team)}
    # Outside the private team the conversation does not exist.
    _error(await api.post(url, json=body, headers=outsider.headers), 404)
    _error(await api.post(url, json=body, headers=reader.headers), 403)
    _error(await api.post(url, json=body, headers=customer.headers), 403)
    _error(
        await api.post(f"/api/v1/conversations/{uuid.uuid4()}/transfer", json=body, headers=insider.headers),
        404,
    )
    # An agent who cannot see the private team cannot be handed its conversation.
    refused = _error(
        await api.post(url, json={"to_agent_id": str(outsider.id)}, headers=insider.headers), 422
    )
    assert "private team" in refused["message"]
    assert (await load(db, conversation)).assignee_id == insider.id
