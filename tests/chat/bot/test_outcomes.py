"""Counting the bot's answers, deflections and handovers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from kefu.chat.bot.engine import BotTurn
from kefu.chat.bot.models import BotOutcomeEvent
from kefu.chat.bot.outcomes import outcome_counts, record_outcome
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.models import Conversation
from kefu.conversations.states import Status
from kefu.core.clock import FrozenClock, set_clock
from kefu.core.ids import new_id, new_reference
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from tests.chat.bot.conftest import Chat
from tests.conftest import Database

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def turn(outcome: str | None, category: str | None = None) -> BotTurn:
    return BotTurn(messages=(), state={}, handover=False, category=category, fields={}, outcome=outcome)


async def new_conversation(db: Database) -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(
            session, IdentityKind.EMAIL, f"{uuid.uuid4().hex}@example.com"
        )
        conversation = Conversation(
            id=new_id(),
            reference=new_reference(),
            contact_id=contact_id,
            channel=ChannelKind.API,
            status=Status.NEW,
            form_fields={},
        )
        session.add(conversation)
        return conversation.id


async def test_outcomes_are_recorded_and_counted_since_a_time(db: Database) -> None:
    first, second = await new_conversation(db), await new_conversation(db)
    clock = FrozenClock(NOW - timedelta(days=10))
    previous = set_clock(clock)
    try:
        async with transaction(db.sessionmaker) as session:
            await record_outcome(session, first, turn("answered", "deposit"))
        clock.advance(timedelta(days=10))
        async with transaction(db.sessionmaker) as session:
            await record_outcome(session, first, turn("answered", "deposit"))
            await record_outcome(session, first, turn("deflected", "deposit"))
            await record_outcome(session, second, turn("answered"))
            await record_outcome(session, second, turn("handed_over", "trading"))
            await record_outcome(session, second, turn(None))  # nothing to count
    finally:
        set_clock(previous)
    async with db.sessionmaker() as session:
        assert await outcome_counts(session, NOW - timedelta(days=1)) == {
            "answered": 2,
            "deflected": 1,
            "handed_over": 1,
        }
        assert await outcome_counts(session, NOW - timedelta(days=30)) == {
            "answered": 3,
            "deflected": 1,
            "handed_over": 1,
        }
        assert await outcome_counts(session, NOW + timedelta(seconds=1)) == {
            "answered": 0,
            "deflected": 0,
            "handed_over": 0,
        }
        rows = list(await session.scalars(select(BotOutcomeEvent).order_by(BotOutcomeEvent.created_at)))
        assert len(rows) == 5
        assert {(r.conversation_id, r.outcome, r.category) for r in rows} == {
            (first, "answered", "deposit"),
            (first, "deflected", "deposit"),
            (second, "answered", None),
            (second, "handed_over", "trading"),
        }
        assert all(r.created_at.tzinfo is not None for r in rows)


async def test_recording_never_commits(db: Database) -> None:
    conversation = await new_conversation(db)
    async with db.sessionmaker() as session:
        await record_outcome(session, conversation, turn("answered"))
        await session.rollback()
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(BotOutcomeEvent)) == 0


async def test_an_unknown_outcome_is_refused(db: Database) -> None:
    conversation = await new_conversation(db)
    async with db.sessionmaker() as session:
        with pytest.raises(ValueError, match="solved_by_magic"):
            await record_outcome(session, conversation, turn("solved_by_magic"))


async def test_outcomes_go_with_their_conversation(db: Database) -> None:
    conversation = await new_conversation(db)
    async with transaction(db.sessionmaker) as session:
        await record_outcome(session, conversation, turn("handed_over"))
    async with transaction(db.sessionmaker) as session:
        await session.execute(delete(Conversation).where(Conversation.id == conversation))
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(BotOutcomeEvent)) == 0


async def test_a_whole_chat_is_counted(kb_db: Database) -> None:
    conversation = await new_conversation(kb_db)
    async with transaction(kb_db.sessionmaker) as session:
        chat = Chat(session, "zh-CN", None)
        for step in (chat.say("充值一直没到账"), chat.tap("not_solved"), chat.tap("human")):
            await record_outcome(session, conversation, await step)
    async with kb_db.sessionmaker() as session:
        counts = await outcome_counts(session, datetime.now(UTC) - timedelta(hours=1))
    assert counts == {"answered": 1, "deflected": 0, "handed_over": 1}
