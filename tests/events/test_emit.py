"""Events describe committed changes only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kefu.db.uow import commit, rollback, transaction
from kefu.events.bus import EventBus, install_bus
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.pubsub.memory import MemoryPubSub
from tests.conftest import Database


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    bus = EventBus(MemoryPubSub())
    previous = install_bus(bus)
    yield bus
    install_bus(previous)
    await bus.close()


def event(n: int) -> Event:
    return Event(name=EventName.CONVERSATION_UPDATED, topics=("conversation:1",), payload={"n": n})


async def test_published_after_commit_not_after_rollback(db: Database, bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1"]) as events:
        async with db.sessionmaker() as session:
            emit_on_commit(session, event(1))
            await rollback(session)
            emit_on_commit(session, event(2))
            await commit(session)
            # Hooks of a committed transaction run once, not again at the next commit.
            await commit(session)
        async with asyncio.timeout(2):
            assert (await anext(events)).payload == {"n": 2}
        await bus.publish(event(3))
        async with asyncio.timeout(2):
            assert (await anext(events)).payload == {"n": 3}


async def test_nothing_is_published_before_commit(db: Database, bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1"]) as events:

        async def first() -> Event:
            return await anext(events)

        waiter = asyncio.create_task(first())
        async with transaction(db.sessionmaker) as session:
            emit_on_commit(session, event(1))
            await asyncio.sleep(0.01)
            assert not waiter.done()
        async with asyncio.timeout(2):
            assert (await waiter).payload == {"n": 1}


async def failing_change(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        emit_on_commit(session, event(1))
        raise RuntimeError("boom")


async def test_failed_transaction_publishes_nothing(db: Database, bus: EventBus) -> None:
    async with bus.subscribe(["conversation:1"]) as events:
        with pytest.raises(RuntimeError):
            await failing_change(db)
        await bus.publish(event(2))
        async with asyncio.timeout(2):
            assert (await anext(events)).payload == {"n": 2}
