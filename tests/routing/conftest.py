"""Routing test helpers: a frozen clock, routed teams, agents with presence, conversations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kefu.auth.actors import CustomerActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate
from kefu.core.clock import FrozenClock, set_clock
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.routing.models import LanguageMatch, Presence, RoutingMode, TeamRouting
from kefu.routing.presence import set_presence
from tests.conftest import Database
from tests.factories import StaffMember, make_agent, make_team

START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Time that only moves when a test says so (restored afterwards)."""
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


async def routed_team(
    db: Database,
    name: str,
    mode: RoutingMode = RoutingMode.LEAST_LOADED,
    *,
    language_match: LanguageMatch = LanguageMatch.PREFER,
    private: bool = False,
) -> uuid.UUID:
    """A team with the given routing, committed."""
    team_id = await make_team(db.sessionmaker, name, private=private)
    async with transaction(db.sessionmaker) as session:
        session.add(TeamRouting(team_id=team_id, mode=mode, language_match=language_match))
    return team_id


async def member(
    db: Database,
    email: str,
    *teams: uuid.UUID,
    capacity: int = 10,
    languages: tuple[str, ...] = ("en",),
    status: Presence | None = Presence.ONLINE,
    role: Role = Role.AGENT,
) -> StaffMember:
    """An agent of `teams` with a routing profile and (unless None) a presence, committed."""
    staff = await make_agent(db.sessionmaker, email, teams=teams, role=role)
    async with transaction(db.sessionmaker) as session:
        agent = await session.get(Agent, staff.id)
        assert agent is not None
        agent.capacity = capacity
        agent.languages = list(languages)
        if status is not None:
            await set_presence(session, staff.id, status, auto=False)
    return staff


async def new_conversation(
    db: Database, team_id: uuid.UUID | None, *, locale: str = "en", email: str = "c@example.com"
) -> uuid.UUID:
    """A conversation a customer opened through an inbox of `team_id`, committed."""
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
        conversation, _, _ = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(body="help", locale=locale),
            channel=ChannelKind.WEB,
            route_to_team=team_id,
        )
        return conversation.id


async def load(db: Database, conversation_id: uuid.UUID) -> Conversation:
    """The conversation as stored now."""
    async with db.sessionmaker() as session:
        found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found


async def assignees(db: Database, ids: list[uuid.UUID]) -> list[uuid.UUID | None]:
    """The stored assignee of each conversation, in order."""
    async with db.sessionmaker() as session:
        result = await session.execute(select(Conversation.id, Conversation.assignee_id))
        rows = {row.id: row.assignee_id for row in result}
    return [rows[i] for i in ids]
