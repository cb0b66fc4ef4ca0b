"""Live chat: online only with an accepting agent within business hours; the wait estimate's method."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kefu.auth.roles import Role
from kefu.channels.live_chat import estimate_wait, get_live_chat_status
from kefu.conversations.states import Status
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.routing.models import Presence
from tests.channels.helpers import default_schedule, seed, set_online
from tests.conftest import Database
from tests.factories import make_agent, make_team

NOW = datetime(2025, 3, 12, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai


async def _status(db: Database, now: datetime = NOW) -> tuple[bool, bool, int]:
    async with db.sessionmaker() as session:
        status = await get_live_chat_status(session, now=now)
    return status.online, status.within_hours, status.agents_available


async def test_online_needs_an_accepting_agent_within_business_hours(db: Database) -> None:
    assert await _status(db) == (False, True, 0)  # no schedule: always open, but nobody is there
    agent = await make_agent(db.sessionmaker, "li@example.com")
    assert await _status(db) == (False, True, 0)  # never connected: offline
    await set_online(db.sessionmaker, agent.id)
    assert await _status(db) == (True, True, 1)
    await set_online(db.sessionmaker, agent.id, Presence.AWAY)
    assert await _status(db) == (False, True, 0)
    await set_online(db.sessionmaker, agent.id)
    # At capacity: present but not accepting.
    await seed(
        db.sessionmaker,
        [{"created_at": NOW, "status": Status.OPEN, "assignee_id": agent.id} for _ in range(10)],
    )
    assert await _status(db) == (False, True, 0)


async def test_outside_business_hours_chat_is_offline_even_with_agents(db: Database) -> None:
    await default_schedule(db.sessionmaker)
    agent = await make_agent(db.sessionmaker, "li@example.com")
    await set_online(db.sessionmaker, agent.id)
    assert await _status(db) == (True, True, 1)
    saturday = datetime(2025, 3, 15, 4, 0, tzinfo=UTC)
    assert await _status(db, saturday) == (False, False, 1)
    labour_day = datetime(2025, 5, 1, 4, 0, tzinfo=UTC)
    assert await _status(db, labour_day) == (False, False, 1)


async def test_a_chat_inbox_team_decides_who_counts(db: Database) -> None:
    chat_team = await make_team(db.sessionmaker, "Chat")
    outsider = await make_agent(db.sessionmaker, "out@example.com")
    await set_online(db.sessionmaker, outsider.id)
    async with transaction(db.sessionmaker) as session:
        session.add(Inbox(name="Chat", channel=ChannelKind.CHAT, address="widget-1", team_id=chat_team))
    assert await _status(db) == (False, True, 0)
    member = await make_agent(db.sessionmaker, "in@example.com", role=Role.AGENT, teams=(chat_team,))
    await set_online(db.sessionmaker, member.id)
    assert await _status(db) == (True, True, 1)


async def test_estimate_uses_recent_answers_and_the_queue(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@example.com")
    await set_online(db.sessionmaker, agent.id)
    async with db.sessionmaker() as session:
        empty = await estimate_wait(session, now=NOW)
    assert (empty.minutes, empty.basis, empty.samples) == (None, "none", 0)

    answered = [
        {
            "created_at": NOW - timedelta(minutes=30 + m),
            "answered_after": timedelta(minutes=m),
            "channel": ChannelKind.CHAT,
        }
        for m in (2, 4, 6, 8)
    ]
    # Email is not chat: its slow answers do not count.
    answered.append(
        {
            "created_at": NOW - timedelta(hours=1),
            "answered_after": timedelta(minutes=50),
            "channel": ChannelKind.EMAIL,
        }
    )
    await seed(db.sessionmaker, answered)
    async with db.sessionmaker() as session:
        estimate = await estimate_wait(session, now=NOW)
    assert (estimate.minutes, estimate.basis, estimate.samples, estimate.waiting) == (5, "recent", 4, 0)
    assert estimate.free_slots == 10

    # Twelve waiting over ten free slots: two rounds of the median.
    await seed(db.sessionmaker, [{"created_at": NOW, "status": Status.NEW} for _ in range(12)])
    async with db.sessionmaker() as session:
        busy = await estimate_wait(session, now=NOW)
    assert (busy.minutes, busy.waiting) == (10, 12)


async def test_estimate_falls_back_to_eight_weeks_of_history(db: Database) -> None:
    old = [
        {
            "created_at": NOW - timedelta(days=20, minutes=m),
            "answered_after": timedelta(minutes=m),
            "channel": ChannelKind.WEB,
        }
        for m in (1, 3, 20)
    ]
    too_old = [{"created_at": NOW - timedelta(weeks=9), "answered_after": timedelta(hours=5)}] * 3
    await seed(db.sessionmaker, old + too_old)
    async with db.sessionmaker() as session:
        estimate = await estimate_wait(session, now=NOW)
    # Nobody is accepting: one round all the same, so the estimate stays the median.
    assert (estimate.minutes, estimate.basis, estimate.samples, estimate.free_slots) == (3, "history", 3, 0)
