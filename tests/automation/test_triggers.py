"""Triggers in the conversation pipeline, driven through the real create/update/reply paths."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from kefu.automation.models import Trigger
from kefu.automation.schemas import TriggerIn
from kefu.automation.triggers import seed_default_triggers
from kefu.conversations.models import Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.db.uow import transaction
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_customer, make_team, open_conversation


async def add_trigger(db: Database, **fields: Any) -> uuid.UUID:
    """A trigger validated like the API does, committed."""
    data = TriggerIn.model_validate({"name": "t", **fields})
    async with transaction(db.sessionmaker) as session:
        trigger = Trigger(
            name=data.name,
            position=data.position,
            is_active=data.is_active,
            on=data.on.value,
            conditions=[c.model_dump(mode="json") for c in data.conditions],
            actions=[a.model_dump(mode="json") for a in data.actions],
        )
        session.add(trigger)
        await session.flush()
        return trigger.id


async def messages(db: Database, conversation_id: object) -> list[Message]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == uuid.UUID(str(conversation_id)))
            .order_by(Message.seq)
        )
        return list(rows.all())


async def get(api: httpx.AsyncClient, who: StaffMember, conversation: dict[str, Any]) -> dict[str, Any]:
    response = await api.get(f"/api/v1/conversations/{conversation['id']}", headers=who.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_default_triggers_route_security_conversations(api: httpx.AsyncClient, db: Database) -> None:
    security = await make_team(db.sessionmaker, "Security")
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    async with transaction(db.sessionmaker) as session:
        assert len(await seed_default_triggers(session)) == 3
    async with transaction(db.sessionmaker) as session:
        assert await seed_default_triggers(session) == []  # idempotent

    created = await open_conversation(api, agent, category="security", subject="Someone logged in")
    assert created["priority"] == "urgent"
    assert created["team_id"] == str(security)

    plain = await open_conversation(api, agent, subject="Fake site", tags=["phishing-report"])
    assert plain["team_id"] == str(security)
    assert plain["priority"] == "normal"

    later = await open_conversation(api, agent, subject="Look at this link")
    assert later["team_id"] is None
    patched = await api.patch(
        f"/api/v1/conversations/{later['id']}", json={"tags": ["phishing-report"]}, headers=agent.headers
    )
    assert patched.status_code == 200, patched.text
    assert (await get(api, agent, later))["team_id"] == str(security)


async def test_seed_without_security_team_only_sets_priority(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        added = await seed_default_triggers(session)
        assert [t.actions for t in added] == [[{"type": "set_priority", "value": "urgent"}]]


async def test_position_order_later_triggers_see_earlier_effects(
    api: httpx.AsyncClient, db: Database
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    # Stored second but positioned first: the category it sets is what the next trigger tests.
    await add_trigger(
        db,
        name="tag withdrawals",
        position=2,
        on="created",
        conditions=[{"type": "category", "value": "withdrawal"}],
        actions=[
            {"type": "add_tags", "tags": ["withdrawal-delay"]},
            {"type": "add_note", "body": "检查链上状态 (check the chain)"},
        ],
    )
    await add_trigger(
        db,
        name="detect chinese withdrawal",
        position=1,
        on="created",
        conditions=[{"type": "text_contains", "value": "提现"}],
        actions=[{"type": "set_category", "value": "withdrawal"}, {"type": "set_priority", "value": "high"}],
    )
    await add_trigger(
        db,
        name="inactive",
        position=0,
        is_active=False,
        on="created",
        conditions=[],
        actions=[{"type": "set_priority", "value": "low"}],
    )
    created = await open_conversation(api, agent, subject="帮帮我", body="我的USDT提现还没到账")
    assert created["category"] == "withdrawal"
    assert created["priority"] == "high"
    assert created["tags"] == ["withdrawal-delay"]
    timeline = await messages(db, created["id"])
    notes = [m for m in timeline if m.kind == MessageKind.NOTE]
    assert [(n.body, n.author_kind) for n in notes] == [("检查链上状态 (check the chain)", AuthorKind.SYSTEM)]
    events = [m.data.get("field") for m in timeline if m.kind == MessageKind.EVENT]
    assert events == ["category", "priority", "tags"]

    other = await open_conversation(api, agent, subject="Deposit", body="where is my deposit")
    assert other["category"] == "general"
    assert other["priority"] == "normal"


async def test_updated_trigger_on_changed_field_fires_once(api: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    await add_trigger(
        db,
        on="updated",
        conditions=[{"type": "changed", "field": "priority"}, {"type": "priority", "value": "urgent"}],
        actions=[{"type": "add_tags", "tags": ["escalated"]}, {"type": "add_note", "body": "Escalated"}],
    )
    created = await open_conversation(api, agent)
    url = f"/api/v1/conversations/{created['id']}"
    assert (await api.patch(url, json={"status": "open"}, headers=agent.headers)).json()["tags"] == []
    response = await api.patch(url, json={"priority": "urgent"}, headers=agent.headers)
    assert response.json()["tags"] == ["escalated"]
    notes = [m for m in await messages(db, created["id"]) if m.kind == MessageKind.NOTE]
    assert len(notes) == 1


async def test_customer_message_trigger(api: httpx.AsyncClient, db: Database, runtime: Runtime) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "c@example.com")
    await add_trigger(
        db,
        on="customer_message",
        conditions=[{"type": "message_contains", "value": "被盗"}],
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    created = await open_conversation(api, customer, body="被盗 in the first message does not count")
    assert created["priority"] == "normal"
    url = f"/api/v1/conversations/{created['id']}/messages"
    agent_reply = await api.post(url, json={"body": "账户被盗?"}, headers=agent.headers)
    assert agent_reply.status_code == 201, agent_reply.text
    assert (await get(api, agent, created))["priority"] == "normal"
    reply = await api.post(url, json={"body": "我的账户被盗了"}, headers=customer.headers)
    assert reply.status_code == 201, reply.text
    assert (await get(api, agent, created))["priority"] == "urgent"


async def test_stale_actions_are_skipped_not_fatal(api: httpx.AsyncClient, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    gone = await make_team(db.sessionmaker, "Gone")
    await add_trigger(
        db,
        on="created",
        actions=[
            {"type": "set_team", "team_id": str(gone)},
            {"type": "set_status", "value": "closed"},
            {"type": "set_status", "value": "pending"},  # closed → pending is not allowed: skipped
            {"type": "add_tags", "tags": ["seen"]},
        ],
    )
    async with transaction(db.sessionmaker) as session:
        from kefu.inboxes.models import Team

        team = await session.get(Team, gone)
        assert team is not None
        await session.delete(team)
    created = await open_conversation(api, agent)
    assert created["status"] == "closed"
    assert created["team_id"] is None
    assert created["tags"] == ["seen"]
