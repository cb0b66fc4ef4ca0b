"""The in-memory visibility check (realtime events) agrees with the SQL gate on every combination."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy import select

from kefu.auth.actors import AgentActor
from kefu.auth.roles import Role
from kefu.conversations.access import (
    can_see_conversation_facts,
    list_private_team_ids,
    visible_conversations,
)
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.ids import new_id, new_reference
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Team
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import make_agent, make_customer


async def test_event_filter_matches_the_sql_gate(db: Database, settings: Settings) -> None:
    maker = db.sessionmaker
    me = await make_agent(maker, "me@kefu.test")
    other = await make_agent(maker, "other@kefu.test")
    customer = await make_customer(maker, settings, "c@example.com")
    async with transaction(maker) as session:
        teams = {
            "public": Team(name="Public", slug="public", is_private=False),
            "private": Team(name="Private", slug="private", is_private=True),
            "mine": Team(name="Mine", slug="mine", is_private=True),
        }
        session.add_all(teams.values())
        await session.flush()
        team_ids: dict[str, uuid.UUID | None] = {"none": None} | {k: t.id for k, t in teams.items()}
        assignees = {"nobody": None, "me": me.id, "other": other.id}
        for team, assignee in itertools.product(team_ids.values(), assignees.values()):
            session.add(
                Conversation(
                    id=new_id(),
                    reference=new_reference(),
                    contact_id=customer.contact_id,
                    channel=ChannelKind.API,
                    status=Status.OPEN,
                    team_id=team,
                    assignee_id=assignee,
                    form_fields={},
                )
            )
    member_of_mine = frozenset({teams["mine"].id})
    actors = [
        AgentActor(agent_id=me.id, role=Role.AGENT, team_ids=member_of_mine),
        AgentActor(agent_id=me.id, role=Role.AGENT),
        AgentActor(agent_id=me.id, role=Role.KYC_REVIEWER, team_ids=member_of_mine),
        AgentActor(agent_id=me.id, role=Role.SUPERVISOR),
        AgentActor(agent_id=me.id, role=Role.ADMIN),
    ]
    async with maker() as session:
        private = await list_private_team_ids(session)
        assert private == {teams["private"].id, teams["mine"].id}
        rows = (
            await session.execute(select(Conversation.id, Conversation.team_id, Conversation.assignee_id))
        ).all()
        assert len(rows) == 12
        for actor in actors:
            visible = set(await session.scalars(select(Conversation.id).where(visible_conversations(actor))))
            for conversation_id, team_id, assignee_id in rows:
                in_memory = can_see_conversation_facts(
                    actor, team_id=team_id, assignee_id=assignee_id, private_team_ids=private
                )
                assert in_memory == (conversation_id in visible), (actor, team_id, assignee_id)
        # The combinations that matter most, spelled out.
        plain = actors[1]
        assert not can_see_conversation_facts(
            plain, team_id=teams["private"].id, assignee_id=other.id, private_team_ids=private
        )
        assert can_see_conversation_facts(
            plain, team_id=teams["private"].id, assignee_id=me.id, private_team_ids=private
        )
