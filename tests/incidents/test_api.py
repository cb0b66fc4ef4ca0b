"""The incidents API: who may do what, the status machine over HTTP, links, the status JSON, the banner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kefu.auth.roles import Role, Scope
from kefu.core.clock import utcnow
from kefu.incidents.service import get_banner
from kefu.runtime import Runtime
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import make_agent, make_customer, make_team, open_conversation
from tests.incidents.helpers import HOSTILE, create_incident, incident_client


async def test_only_supervisors_manage_incidents(db: Database, runtime: Runtime, settings: Settings) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    body = {"title": {"en": "Login slow"}, "components": ["login"]}
    async with incident_client(runtime) as client:
        assert (await client.post("/api/v1/incidents", json=body)).status_code == 401
        assert (await client.post("/api/v1/incidents", json=body, headers=alice.headers)).status_code == 403
        assert (await client.post("/api/v1/incidents", json=body, headers=agent.headers)).status_code == 403
        incident = await create_incident(client, boss, title={"en": "Login slow"}, components=["login"])
        assert incident["status"] == "investigating"
        assert incident["severity"] == "minor"
        for path in (
            f"/api/v1/incidents/{incident['id']}/updates",
            f"/api/v1/incidents/{incident['id']}/resolve",
        ):
            answer = await client.post(path, json={"status": "identified"}, headers=agent.headers)
            assert answer.status_code == 403
        # Agents read the list; customers do not.
        assert (await client.get("/api/v1/incidents", headers=agent.headers)).status_code == 200
        assert (await client.get("/api/v1/incidents", headers=alice.headers)).status_code == 403


BAD_BODIES: list[dict[str, Any]] = [
    {"title": {}, "components": ["login"]},
    {"title": {"en": "   "}, "components": ["login"]},
    {"title": {"fr": "Panne"}, "components": ["login"]},
    {"title": {"en": "x" * 201}, "components": ["login"]},
    {"title": {"en": "x"}, "components": []},
    {"title": {"en": "x"}, "components": ["deposits:<script>"]},
    {"title": {"en": "x"}, "components": ["login"] * 51},
    {"title": {"en": "x"}, "components": ["login"], "severity": "apocalyptic"},
    {"title": {"en": "x"}, "components": ["login"], "severity": "maintenance"},
    {"title": {"en": "x"}, "components": ["login"], "starts_at": "2030-01-01T00:00:00Z"},
    {"title": {"en": "x"}, "components": ["login"], "kind": "maintenance"},
    {
        "title": {"en": "x"},
        "components": ["login"],
        "kind": "maintenance",
        "starts_at": "2030-01-01T00:00",
    },
    {
        "title": {"en": "x"},
        "components": ["login"],
        "kind": "maintenance",
        "severity": "critical",
        "starts_at": "2030-01-01T00:00:00Z",
    },
    {"title": {"en": "x"}, "components": ["login"], "body": {"en": "y" * 5001}},
    {"title": {"en": "x"}, "components": ["login"], "surprise": 1},
    {"title": "not a dict", "components": ["login"]},
]


async def test_bad_incidents_are_422(db: Database, runtime: Runtime) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        for body in BAD_BODIES:
            response = await client.post("/api/v1/incidents", json=body, headers=boss.headers)
            assert response.status_code == 422, (body, response.text)
        broken = await client.post(
            "/api/v1/incidents",
            content=b"{not json",
            headers={**boss.headers, "content-type": "application/json"},
        )
        assert broken.status_code in (400, 422)


async def test_status_machine_over_http(db: Database, runtime: Runtime) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        incident = await create_incident(client, boss, severity="critical", body={"en": "Looking into it"})
        assert [u["status"] for u in incident["updates"]] == ["investigating"]
        url = f"/api/v1/incidents/{incident['id']}/updates"
        ok = await client.post(
            url, json={"status": "identified", "body": {"en": "Node stuck"}}, headers=boss.headers
        )
        assert ok.status_code == 201
        assert ok.json()["status"] == "identified"
        back = await client.post(url, json={"status": "investigating"}, headers=boss.headers)
        assert back.status_code == 409
        wrong_kind = await client.post(url, json={"status": "in_progress"}, headers=boss.headers)
        assert wrong_kind.status_code == 409
        same_no_text = await client.post(url, json={"status": "identified"}, headers=boss.headers)
        assert same_no_text.status_code == 422
        unknown = await client.post(url, json={"status": "exploded"}, headers=boss.headers)
        assert unknown.status_code == 422
        missing = await client.post(
            "/api/v1/incidents/00000000-0000-0000-0000-000000000000/updates",
            json={"status": "identified"},
            headers=boss.headers,
        )
        assert missing.status_code == 404
        assert (
            await client.post("/api/v1/incidents/nope/resolve", json={}, headers=boss.headers)
        ).status_code == 422
        done = await client.post(url, json={"status": "resolved"}, headers=boss.headers)
        assert done.status_code == 201
        assert done.json()["resolved_at"] is not None
        after = await client.post(url, json={"status": "monitoring"}, headers=boss.headers)
        assert after.status_code == 409
        current = await client.get("/api/v1/incidents?state=current", headers=boss.headers)
        recent = await client.get("/api/v1/incidents?state=recent&days=7", headers=boss.headers)
        assert current.json() == []
        assert [i["id"] for i in recent.json()] == [incident["id"]]
        assert (await client.get("/api/v1/incidents?state=later", headers=boss.headers)).status_code == 422
        assert (await client.get("/api/v1/incidents?days=0", headers=boss.headers)).status_code == 422


async def test_links_respect_private_teams(db: Database, runtime: Runtime, settings: Settings) -> None:
    security = await make_team(db.sessionmaker, "Security", private=True)
    insider = await make_agent(db.sessionmaker, "in@kefu.test", teams=(security,))
    outsider = await make_agent(db.sessionmaker, "out@kefu.test")
    reader = await make_agent(db.sessionmaker, "ro@kefu.test", scopes={Scope.CONVERSATIONS_READ})
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    alice = await make_customer(db.sessionmaker, settings, "alice@example.com")
    async with incident_client(runtime) as client:
        incident = await create_incident(client, boss)
        conversation = await open_conversation(client, alice)
        cid = conversation["id"]
        moved = await client.patch(
            f"/api/v1/conversations/{cid}", json={"team_id": str(security)}, headers=boss.headers
        )
        assert moved.status_code == 200, moved.text
        link_url = f"/api/v1/conversations/{cid}/incidents/{incident['id']}"
        list_url = f"/api/v1/conversations/{cid}/incidents"
        assert (await client.post(link_url, headers=outsider.headers)).status_code == 404
        assert (await client.post(link_url, headers=alice.headers)).status_code == 403
        assert (await client.post(link_url, headers=reader.headers)).status_code == 403
        assert (await client.post(link_url, headers=insider.headers)).status_code == 201
        assert (await client.get(list_url, headers=outsider.headers)).status_code == 404
        assert [i["id"] for i in (await client.get(list_url, headers=insider.headers)).json()] == [
            incident["id"]
        ]
        # The incident's own page hides conversations the agent may not see.
        detail = await client.get(f"/api/v1/incidents/{incident['id']}", headers=outsider.headers)
        assert detail.status_code == 200
        assert detail.json()["conversations"] == []
        detail = await client.get(f"/api/v1/incidents/{incident['id']}", headers=insider.headers)
        assert [c["id"] for c in detail.json()["conversations"]] == [cid]
        # The link is an internal timeline event, never shown to the customer.
        staff = await client.get(f"/api/v1/conversations/{cid}/messages", headers=insider.headers)
        events = [
            m for m in staff.json()["items"] if m["kind"] == "event" and m["data"].get("field") == "incident"
        ]
        assert len(events) == 1
        assert events[0]["data"]["incident_id"] == incident["id"]
        mine = await client.get(f"/api/v1/conversations/{cid}/messages", headers=alice.headers)
        assert all(m["kind"] == "reply" for m in mine.json()["items"])

        assert (await client.delete(link_url, headers=outsider.headers)).status_code == 404
        assert (await client.delete(link_url, headers=insider.headers)).status_code == 204
        assert (await client.delete(link_url, headers=insider.headers)).status_code == 404
        assert (await client.get(list_url, headers=insider.headers)).json() == []
        bogus = f"/api/v1/conversations/{cid}/incidents/00000000-0000-0000-0000-000000000000"
        assert (await client.post(bogus, headers=insider.headers)).status_code == 404
        # A resolved incident takes no new links.
        await client.post(f"/api/v1/incidents/{incident['id']}/resolve", json={}, headers=boss.headers)
        assert (await client.post(link_url, headers=insider.headers)).status_code == 409


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_public_status_json(db: Database, runtime: Runtime, locale: str) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        await create_incident(
            client,
            boss,
            title={"en": HOSTILE, "zh-CN": "中文" + HOSTILE},
            severity="critical",
            components=["withdrawals:ERC20", "deposits:NEWNET"],
            body={"en": HOSTILE},
        )
        await create_incident(
            client, boss, kind="maintenance", components=["trading"], starts_at=utcnow() + timedelta(hours=2)
        )
        response = await client.get(f"/api/v1/status?locale={locale}")
        assert response.status_code == 200
        data = response.json()
        assert data["locale"] == locale
        states = {c["key"]: c["status"] for c in data["components"]}
        assert states["withdrawals:ERC20"] == "outage"
        assert states["deposits:NEWNET"] == "outage"  # networks named only by an incident still show
        assert states["trading"] == "operational"  # scheduled, not started
        assert states["deposits:TRC20"] == "operational"  # from the exchange's networks
        assert data["current"][0]["title"].startswith("中文" if locale == "zh-CN" else "<script>")
        assert "\x01" not in data["current"][0]["title"]
        assert data["current"][0]["url"] == f"/hc/{locale}/status/incidents/{data['current'][0]['id']}"
        assert data["scheduled"][0]["status"] == "scheduled"
        assert (await client.get("/api/v1/status?locale=" + "x" * 100)).status_code == 422
        assert (await client.get("/api/v1/status?locale=klingon")).json()["locale"] == "en"


async def test_banner_choice(db: Database, runtime: Runtime) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with incident_client(runtime) as client:
        async with db.sessionmaker() as session:
            assert await get_banner(session, "en") is None
        far = await create_incident(
            client, boss, kind="maintenance", title={"en": "Far"}, starts_at=utcnow() + timedelta(days=3)
        )
        async with db.sessionmaker() as session:
            assert await get_banner(session, "en") is None  # more than 24 h away
        soon = await create_incident(
            client,
            boss,
            kind="maintenance",
            title={"en": "Soon", "zh-CN": "即将"},
            starts_at=utcnow() + timedelta(hours=3),
        )
        async with db.sessionmaker() as session:
            banner = await get_banner(session, "zh-CN")
        assert banner is not None
        assert banner.title == "即将"
        assert banner.severity == "maintenance"
        assert banner.url == f"/hc/zh-CN/status/incidents/{soon['id']}"
        assert banner.status == "scheduled"
        started = await client.post(
            f"/api/v1/incidents/{far['id']}/updates", json={"status": "in_progress"}, headers=boss.headers
        )
        assert started.status_code == 201
        async with db.sessionmaker() as session:
            banner = await get_banner(session, "en")
        assert banner is not None
        assert banner.title == "Far"
        assert banner.status == "in_progress"
        await create_incident(client, boss, title={"en": "Minor one"}, severity="minor")
        major = await create_incident(client, boss, title={"en": "Major one"}, severity="major")
        await create_incident(client, boss, title={"en": "Another minor"}, severity="minor")
        async with db.sessionmaker() as session:
            banner = await get_banner(session, "zh-CN")
        assert banner is not None
        assert banner.title == "Major one"
        assert banner.severity == "major"
        assert banner.url.endswith(major["id"])
