"""Builders for test data through the real actions (so tests exercise the same paths as users)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.auth.actions import do_create_agent
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.auth.customer_tokens import issue_customer_token
from kefu.auth.roles import Role, Scope
from kefu.auth.service import build_actor
from kefu.auth.tokens import do_issue_api_token_as_operator
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.db.uow import transaction
from kefu.inboxes.models import Team, TeamMember
from kefu.settings import Settings

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    email: str
    actor: AgentActor
    token: str  # API token with read+write scopes

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Customer:
    contact_id: uuid.UUID
    email: str
    actor: CustomerActor
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def make_team(
    maker: async_sessionmaker[AsyncSession], name: str, *, private: bool = False
) -> uuid.UUID:
    """A team, committed."""
    async with transaction(maker) as session:
        team = Team(name=name, slug=name.lower().replace(" ", "-"), is_private=private)
        session.add(team)
        await session.flush()
        return team.id


async def make_agent(
    maker: async_sessionmaker[AsyncSession],
    email: str,
    *,
    role: Role = Role.AGENT,
    teams: tuple[uuid.UUID, ...] = (),
    scopes: set[Scope] | None = None,
) -> StaffMember:
    """An agent with team memberships and an API token, committed."""
    async with transaction(maker) as session:
        agent = await do_create_agent(
            session, email=email, name=email.split("@")[0], role=role, password=PASSWORD, actor=None
        )
        for team_id in teams:
            session.add(TeamMember(team_id=team_id, agent_id=agent.id))
        await session.flush()
        wanted = scopes or {Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE}
        _row, token = await do_issue_api_token_as_operator(
            session, agent_email=email, name="tests", scopes=wanted, expires_in_days=None
        )
        actor = await build_actor(session, agent)
        return StaffMember(id=agent.id, email=agent.email, actor=actor, token=token)


async def make_customer(maker: async_sessionmaker[AsyncSession], settings: Settings, email: str) -> Customer:
    """A contact with a verified email and a customer token for all their conversations, committed."""
    async with transaction(maker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
        token = issue_customer_token(settings.secret_key, contact_id, None)
        return Customer(contact_id, email, CustomerActor(contact_id=contact_id), token)


async def open_conversation(
    client: httpx.AsyncClient, who: StaffMember | Customer, **fields: object
) -> dict[str, object]:
    """POST a conversation and return the JSON (asserts 201)."""
    body: dict[str, object] = {"subject": "Help", "body": "My deposit is missing"}
    if isinstance(who, StaffMember):
        body["customer"] = {"email": "someone@example.com"}
    body.update(fields)
    response = await client.post("/api/v1/conversations", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    result: dict[str, object] = response.json()
    return result
