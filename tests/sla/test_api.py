"""The SLA API: agents read, supervisors write; the SLA card follows the conversation gate."""

from __future__ import annotations

import httpx

from kefu.auth.roles import Role
from tests.conftest import Database
from tests.factories import make_agent, make_team, open_conversation
from tests.sla.helpers import add_policy

MISSING = "0190c2a4-0000-7000-8000-000000000000"


async def test_policies_crud_and_permissions(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    body = {"name": "VIP", "priorities": ["urgent", "urgent", "high"], "first_response_minutes": 15}
    assert (await api.post("/api/v1/sla-policies", json=body, headers=agent.headers)).status_code == 403
    created = await add_policy(api, boss, **body)
    assert created["priorities"] == ["urgent", "high"]
    pid = created["id"]
    await add_policy(api, boss, name="Later", position=5)
    listed = await api.get("/api/v1/sla-policies", headers=agent.headers)
    assert [p["name"] for p in listed.json()] == ["VIP", "Later"]
    assert (await api.get(f"/api/v1/sla-policies/{pid}", headers=agent.headers)).status_code == 200
    assert (await api.put(f"/api/v1/sla-policies/{pid}", json=body, headers=agent.headers)).status_code == 403
    assert (await api.delete(f"/api/v1/sla-policies/{pid}", headers=agent.headers)).status_code == 403
    updated = await api.put(
        f"/api/v1/sla-policies/{pid}", json={"name": "VIP", "resolution_minutes": 240}, headers=boss.headers
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["first_response_minutes"] is None
    assert (await api.delete(f"/api/v1/sla-policies/{pid}", headers=boss.headers)).status_code == 204
    assert (await api.get(f"/api/v1/sla-policies/{pid}", headers=agent.headers)).status_code == 404
    assert (
        await api.put(f"/api/v1/sla-policies/{MISSING}", json=body, headers=boss.headers)
    ).status_code == 404


async def test_bad_policies_are_422(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    for body in (
        {"name": "x", "first_response_minutes": -5},
        {"name": "x", "resolution_minutes": 0},
        {"name": "x", "resolution_minutes": 10**12},
        {"name": "x", "next_response_minutes": "soon"},
        {"name": "x", "priorities": ["critical"]},
        {"name": "x", "categories": ["general"] * 50},
        {"name": "x", "channels": ["pigeon"]},
        {"name": "x", "position": -1},
        {"name": ""},
        {"name": "nul\x00"},
        {"name": "x", "unknown": True},
        {"name": "x", "priorities": "urgent"},
        {},
    ):
        response = await api.post("/api/v1/sla-policies", json=body, headers=boss.headers)
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()) == {"error"}
    broken = await api.post(
        "/api/v1/sla-policies",
        content=b"{not json",
        headers=boss.headers | {"content-type": "application/json"},
    )
    assert broken.status_code in (400, 422)


async def test_sla_card_is_gated_like_the_conversation(api: httpx.AsyncClient, db: Database) -> None:
    vault = await make_team(db.sessionmaker, "Vault", private=True)
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    member = await make_agent(db.sessionmaker, "member@kefu.test", teams=(vault,))
    outsider = await make_agent(db.sessionmaker, "out@kefu.test")
    await add_policy(api, boss, first_response_minutes=30)
    conv = (await open_conversation(api, boss, team_id=str(vault)))["id"]
    url = f"/api/v1/conversations/{conv}/sla"
    assert (await api.get(url, headers=member.headers)).status_code == 200
    assert (await api.get(url, headers=boss.headers)).json()["first_response"]["target_minutes"] == 30
    hidden = await api.get(url, headers=outsider.headers)
    assert hidden.status_code == 404
    assert (
        await api.get(f"/api/v1/conversations/{MISSING}/sla", headers=outsider.headers)
    ).status_code == 404
    assert (await api.get("/api/v1/conversations/KF-1/sla", headers=member.headers)).status_code == 422
    assert (await api.get(url)).status_code == 401
