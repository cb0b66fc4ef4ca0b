"""The routing processor on both backends: creation routes, solving pulls the queue, offline reassigns."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from kefu.auth.roles import Role
from kefu.conversations.actions import do_update_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import MessageKind, Status
from kefu.core.clock import FrozenClock
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.routing.actions import do_set_routing_profile, do_set_team_routing, do_transfer
from kefu.routing.models import LanguageMatch, Presence, RoutingMode
from kefu.routing.presence import do_set_presence
from kefu.routing.service import list_agent_presence, list_queue
from tests.conftest import Database
from tests.factories import StaffMember
from tests.routing.conftest import assignees, load, member, new_conversation, routed_team


async def _update(db: Database, who: StaffMember, conversation_id: uuid.UUID, **changes: object) -> None:
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await do_update_conversation(session, who.actor, conversation, ConversationUpdate(**changes))


async def _presence(db: Database, who: StaffMember, status: Presence) -> None:
    async with transaction(db.sessionmaker) as session:
        await do_set_presence(session, who.actor, status)


async def test_creation_spreads_by_load_and_respects_capacity(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Wallet")
    a = await member(db, "a@kefu.test", team, capacity=2)
    b = await member(db, "b@kefu.test", team, capacity=1)
    ids = [await new_conversation(db, team) for _ in range(4)]
    got = await assignees(db, ids)
    assert Counter(got) == {a.id: 2, b.id: 1, None: 1}  # never beyond capacity; the rest waits
    async with db.sessionmaker() as session:
        queue = await list_queue(session, team)
        assert [c.id for c in queue] == [ids[got.index(None)]]
        panel = {row.agent_id: row for row in await list_agent_presence(session)}
        assert (panel[a.id].load, panel[a.id].capacity, panel[a.id].team_ids) == (2, 2, [team])
        assert panel[b.id].status == Presence.ONLINE


async def test_manual_teams_and_teamless_conversations_are_not_routed(
    db: Database, clock: FrozenClock
) -> None:
    team = await routed_team(db, "Manual", RoutingMode.MANUAL)
    await member(db, "a@kefu.test", team)
    assert await assignees(db, [await new_conversation(db, team), await new_conversation(db, None)]) == [
        None,
        None,
    ]


async def test_away_and_offline_agents_get_nothing_until_online(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "KYC", RoutingMode.ROUND_ROBIN)
    away = await member(db, "away@kefu.test", team, status=Presence.AWAY, capacity=2)
    await member(db, "off@kefu.test", team, status=Presence.OFFLINE)
    await member(db, "never@kefu.test", team, status=None)
    ids = [await new_conversation(db, team) for _ in range(3)]
    assert await assignees(db, ids) == [None, None, None]
    clock.advance(timedelta(seconds=1))
    await _presence(db, away, Presence.ONLINE)
    # Coming online pulls the oldest waiting conversations, up to capacity.
    assert await assignees(db, ids) == [away.id, away.id, None]


async def test_solving_frees_capacity_for_the_oldest_waiting(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Deposits")
    agent = await member(db, "a@kefu.test", team, capacity=1)
    first = await new_conversation(db, team)
    waiting = [await new_conversation(db, team) for _ in range(2)]
    assert await assignees(db, [first, *waiting]) == [agent.id, None, None]
    await _update(db, agent, first, status=Status.SOLVED)
    assert await assignees(db, [first, *waiting]) == [agent.id, agent.id, None]
    # Pending does not count as load either: the next one comes in.
    await _update(db, agent, waiting[0], status=Status.PENDING)
    assert await assignees(db, waiting) == [agent.id, agent.id]


async def test_going_offline_reassigns_within_the_team(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Trading")
    manual = await routed_team(db, "Manual", RoutingMode.MANUAL)
    leaving = await member(db, "leaving@kefu.test", team, manual)
    staying = await member(db, "staying@kefu.test", team, status=Presence.AWAY)
    routed = await new_conversation(db, team)
    manual_conv = await new_conversation(db, manual)
    await _update(db, leaving, manual_conv, assignee_id=leaving.id)
    await _update(db, leaving, routed, assignee_id=leaving.id)
    await _presence(db, staying, Presence.ONLINE)
    await _presence(db, leaving, Presence.OFFLINE)
    # Only auto-routed teams' work moves; a manual team's assignment is the supervisor's call.
    assert await assignees(db, [routed, manual_conv]) == [staying.id, leaving.id]


async def test_going_offline_with_nobody_else_leaves_it_in_the_queue(
    db: Database, clock: FrozenClock
) -> None:
    team = await routed_team(db, "Night")
    agent = await member(db, "a@kefu.test", team)
    conversation = await new_conversation(db, team)
    assert await assignees(db, [conversation]) == [agent.id]
    await _presence(db, agent, Presence.OFFLINE)
    assert await assignees(db, [conversation]) == [None]


async def test_unassigning_routes_to_someone_else(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Security", RoutingMode.ROUND_ROBIN)
    a = await member(db, "a@kefu.test", team)
    b = await member(db, "b@kefu.test", team)
    conversation = await new_conversation(db, team)
    first = (await load(db, conversation)).assignee_id
    assert first in (a.id, b.id)
    await _update(db, a, conversation, unassign=True)
    assert (await load(db, conversation)).assignee_id == ({a.id, b.id} - {first}).pop()


async def test_language_rules_apply_to_routing_and_to_the_queue(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Asia", language_match=LanguageMatch.REQUIRE)
    english = await member(db, "en@kefu.test", team, languages=("en",))
    chinese = [await new_conversation(db, team, locale="zh-CN") for _ in range(2)]
    english_conv = await new_conversation(db, team, locale="en")
    assert await assignees(db, [*chinese, english_conv]) == [None, None, english.id]
    speaker = await member(db, "zh@kefu.test", team, languages=("zh",), capacity=1)
    assert await assignees(db, chinese) == [speaker.id, None]
    async with transaction(db.sessionmaker) as session:
        await do_set_routing_profile(session, english.actor, speaker.id, capacity=2, languages=["zh"])
    assert await assignees(db, chinese) == [speaker.id, speaker.id]


async def test_switching_a_team_to_automatic_routes_its_queue(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Later", RoutingMode.MANUAL)
    agent = await member(db, "a@kefu.test", team, capacity=1, role=Role.SUPERVISOR)
    ids = [await new_conversation(db, team) for _ in range(2)]
    async with transaction(db.sessionmaker) as session:
        await do_set_team_routing(
            session, agent.actor, team, mode=RoutingMode.ROUND_ROBIN, language_match=LanguageMatch.IGNORE
        )
    assert await assignees(db, ids) == [agent.id, None]


async def test_a_team_switched_to_automatic_routes_the_next_conversation(
    db: Database, clock: FrozenClock
) -> None:
    """Whether a team routes is cached per process: a switch made here is seen by the next creation."""
    team = await routed_team(db, "Switch", RoutingMode.MANUAL)
    agent = await member(db, "a@kefu.test", team, capacity=5, role=Role.SUPERVISOR)
    before = await new_conversation(db, team)  # caches "manual"
    async with transaction(db.sessionmaker) as session:
        await do_set_team_routing(
            session, agent.actor, team, mode=RoutingMode.ROUND_ROBIN, language_match=LanguageMatch.IGNORE
        )
    after = await new_conversation(db, team)
    assert (await assignees(db, [before, after]))[1] == agent.id
    async with transaction(db.sessionmaker) as session:
        await do_set_team_routing(
            session, agent.actor, team, mode=RoutingMode.MANUAL, language_match=LanguageMatch.IGNORE
        )
    assert await assignees(db, [await new_conversation(db, team)]) == [None]


async def test_concurrent_creations_cannot_overfill_an_agent(db: Database, clock: FrozenClock) -> None:
    team = await routed_team(db, "Busy")
    agent = await member(db, "a@kefu.test", team, capacity=1)
    ids = await asyncio.gather(*(new_conversation(db, team, email=f"c{i}@example.com") for i in range(3)))
    assert Counter(await assignees(db, list(ids))) == {agent.id: 1, None: 2}


async def test_transfer_to_a_team_routes_within_it_with_a_note(db: Database, clock: FrozenClock) -> None:
    first_line = await routed_team(db, "First line")
    wallet = await routed_team(db, "Wallet team")
    a = await member(db, "a@kefu.test", first_line)
    w = await member(db, "w@kefu.test", wallet)
    conversation_id = await new_conversation(db, first_line)
    assert (await load(db, conversation_id)).assignee_id == a.id
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await do_transfer(session, a.actor, conversation, to_team_id=wallet, note="needs a tx trace")
    stored = await load(db, conversation_id)
    assert (stored.team_id, stored.assignee_id) == (wallet, w.id)
    async with db.sessionmaker() as session:
        notes = list(
            await session.scalars(
                select(Message.body).where(
                    Message.conversation_id == conversation_id, Message.kind == MessageKind.NOTE
                )
            )
        )
    assert notes == ["Transferred to team Wallet team: needs a tx trace"]


async def test_transfer_to_an_agent_outside_a_private_team_is_refused(
    db: Database, clock: FrozenClock
) -> None:
    vip = await routed_team(db, "VIP", private=True)
    insider = await member(db, "in@kefu.test", vip)
    outsider = await member(db, "out@kefu.test")
    conversation_id = await new_conversation(db, vip)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        with pytest.raises(InvalidInput):
            await do_transfer(session, insider.actor, conversation, to_agent_id=outsider.id, note="")
        with pytest.raises(InvalidInput):
            await do_transfer(session, insider.actor, conversation, note="nowhere")
    assert (await load(db, conversation_id)).assignee_id == insider.id
