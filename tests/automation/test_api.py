"""The automation API: who may do what, and bad input answered with 4xx (never 500)."""

from __future__ import annotations

from typing import Any

import httpx

from kefu.auth.actors import AgentActor
from kefu.auth.roles import Role
from kefu.automation.models import SavedView
from kefu.automation.views import conversation_filters, view_filters
from kefu.conversations.states import Status
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent, make_customer, make_team, open_conversation

TRIGGER = {
    "name": "VIP first",
    "on": "created",
    "conditions": [{"type": "tag", "value": "vip"}],
    "actions": [{"type": "set_priority", "value": "high"}],
}

BAD_TRIGGERS: list[Any] = [
    TRIGGER | {"conditions": [{"type": "moon_phase", "value": "full"}]},
    TRIGGER | {"conditions": [{"type": "changed", "field": "priority"}]},  # only for "updated"
    TRIGGER | {"on": "deleted"},
    TRIGGER | {"actions": []},
    TRIGGER | {"actions": [{"type": "set_team", "team_id": "00000000-0000-0000-0000-000000000000"}]},
    TRIGGER | {"actions": [{"type": "add_note", "body": "a\x00b"}]},
    TRIGGER | {"name": "x" * 101},
    TRIGGER | {"position": -1},
    TRIGGER | {"position": "first"},
    TRIGGER | {"conditions": "all"},
    TRIGGER | {"conditions": [{"type": "tag", "value": "vip"}] * 31},
    TRIGGER | {"unexpected": True},
    {"name": "x"},
    [],
]


async def test_triggers_supervisors_write_agents_read(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    assert (await api.post("/api/v1/triggers", json=TRIGGER, headers=li.headers)).status_code == 403
    created = await api.post("/api/v1/triggers", json=TRIGGER, headers=boss.headers)
    assert created.status_code == 201, created.text
    url = f"/api/v1/triggers/{created.json()['id']}"
    assert (await api.put(url, json=TRIGGER, headers=li.headers)).status_code == 403
    assert (await api.delete(url, headers=li.headers)).status_code == 403
    listed = await api.get("/api/v1/triggers", headers=li.headers)
    assert [t["name"] for t in listed.json()] == ["VIP first"]
    assert (await api.get(url, headers=li.headers)).json()["conditions"] == [
        {"type": "tag", "value": "vip", "negate": False}
    ]

    conversation = await open_conversation(api, li, tags=["vip"])
    assert conversation["priority"] == "high"

    updated = await api.put(url, json=TRIGGER | {"is_active": False}, headers=boss.headers)
    assert updated.json()["is_active"] is False
    assert (await open_conversation(api, li, tags=["vip"]))["priority"] == "normal"
    assert (await api.delete(url, headers=boss.headers)).status_code == 204
    assert (await api.get(url, headers=li.headers)).status_code == 404
    assert (await api.put(url, json=TRIGGER, headers=boss.headers)).status_code == 404


async def test_bad_triggers_are_refused(api: httpx.AsyncClient, db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    for body in BAD_TRIGGERS:
        response = await api.post("/api/v1/triggers", json=body, headers=boss.headers)
        assert response.status_code == 422, (body, response.text)
        assert set(response.json()) == {"error"}
    huge = '{"name": "' + "x" * 10_000_000 + '"}'
    response = await api.post(
        "/api/v1/triggers", content=huge, headers=boss.headers | {"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    broken = await api.post(
        "/api/v1/triggers", content=b'{"name": ', headers=boss.headers | {"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert (await api.get("/api/v1/triggers/not-a-uuid", headers=boss.headers)).status_code == 422
    assert (await api.get("/api/v1/triggers", headers=boss.headers)).json() == []


async def test_auto_close_policy(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    assert (await api.get("/api/v1/auto-close", headers=li.headers)).json() == {
        "after_days": 4,
        "enabled": True,
    }
    assert (await api.get("/api/v1/auto-close", headers=customer.headers)).status_code == 403
    body = {"after_days": 7, "enabled": False}
    assert (await api.put("/api/v1/auto-close", json=body, headers=li.headers)).status_code == 403
    assert (await api.put("/api/v1/auto-close", json=body, headers=boss.headers)).json() == body
    assert (
        await api.put("/api/v1/auto-close", json=body | {"after_days": 3}, headers=boss.headers)
    ).status_code == 200
    assert (await api.get("/api/v1/auto-close", headers=li.headers)).json() == {
        "after_days": 3,
        "enabled": False,
    }
    for bad in (
        {"after_days": 0},
        {"after_days": 366},
        {"after_days": "four"},
        {"after_days": 4, "x": 1},
        {},
    ):
        assert (await api.put("/api/v1/auto-close", json=bad, headers=boss.headers)).status_code == 422


async def test_saved_views(api: httpx.AsyncClient, db: Database) -> None:
    team = await make_team(db.sessionmaker, "Deposits")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    wu = await make_agent(db.sessionmaker, "wu@kefu.test")
    filters = {
        "statuses": ["new", "open"],
        "assignee": "me",
        "team_id": str(team),
        "tag": "VIP",
        "sla": "attention",
    }
    mine = await api.post("/api/v1/views", json={"name": "My VIPs", "filters": filters}, headers=li.headers)
    assert mine.status_code == 201, mine.text
    assert mine.json()["filters"]["tag"] == "vip"
    url = f"/api/v1/views/{mine.json()['id']}"
    shared_body = {"name": "Everyone", "filters": {"assignee": "none"}, "shared": True}
    assert (await api.post("/api/v1/views", json=shared_body, headers=li.headers)).status_code == 403
    shared = await api.post("/api/v1/views", json=shared_body, headers=boss.headers)
    assert shared.status_code == 201
    shared_url = f"/api/v1/views/{shared.json()['id']}"

    for other in (wu, boss):
        assert (await api.get(url, headers=other.headers)).status_code == 404
        assert (await api.put(url, json={"name": "x"}, headers=other.headers)).status_code == 404
        assert (await api.delete(url, headers=other.headers)).status_code == 404
    assert [v["name"] for v in (await api.get("/api/v1/views", headers=wu.headers)).json()] == ["Everyone"]
    assert (await api.get(shared_url, headers=wu.headers)).status_code == 200
    assert (await api.put(shared_url, json={"name": "mine now"}, headers=wu.headers)).status_code == 403
    assert sorted(v["name"] for v in (await api.get("/api/v1/views", headers=li.headers)).json()) == [
        "Everyone",
        "My VIPs",
    ]
    renamed = await api.put(
        url, json={"name": "Renamed", "filters": filters, "position": 3}, headers=li.headers
    )
    assert renamed.json()["name"] == "Renamed"
    for bad in (
        {"name": "x", "filters": {"assignee": "someone"}},
        {"name": "x", "filters": {"statuses": ["lost"]}},
        {"name": "x", "filters": {"sla": "late"}},
        {"name": "x", "filters": {"text": "a\x00"}},
        {"name": "x", "filters": {"colour": "red"}},
        {"name": "x", "filters": []},
    ):
        assert (await api.post("/api/v1/views", json=bad, headers=li.headers)).status_code == 422, bad
    assert (await api.delete(url, headers=li.headers)).status_code == 204
    assert (await api.get(url, headers=li.headers)).status_code == 404


def test_view_filters_to_conversation_filters() -> None:
    import uuid

    agent = AgentActor(agent_id=uuid.uuid4(), role=Role.AGENT)
    view = SavedView(name="v", filters={"statuses": ["open"], "assignee": "me", "text": " 提现 "})
    filters = view_filters(view)
    listed = conversation_filters(filters, agent)
    assert listed.status == [Status.OPEN]
    assert listed.assignee_id == agent.agent_id
    assert listed.text == "提现"
    none = conversation_filters(view_filters(SavedView(name="v", filters={"assignee": "none"})), agent)
    assert none.unassigned
    assert none.assignee_id is None
    assert none.status is None


async def test_reply_checks_endpoint(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    response = await api.post(
        "/api/v1/reply-checks", json={"text": "请提供您的谷歌验证码"}, headers=li.headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "warnings": [{"kind": "verification_code", "start": 1, "end": 10, "text": "提供您的谷歌验证码"}]
    }
    safe = await api.post("/api/v1/reply-checks", json={"text": "请勿向任何人透露验证码"}, headers=li.headers)
    assert safe.json() == {"warnings": []}
    assert (
        await api.post("/api/v1/reply-checks", json={"text": "x"}, headers=customer.headers)
    ).status_code == 403
    assert (await api.post("/api/v1/reply-checks", json={"text": "x"})).status_code == 401
    for bad in ({"text": "x" * 20_001}, {"text": "a\x00"}, {"text": 5}, {}, {"text": "x", "more": 1}):
        assert (await api.post("/api/v1/reply-checks", json=bad, headers=li.headers)).status_code == 422
