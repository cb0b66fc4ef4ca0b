"""Job test helpers: a frozen clock and a handler-written table that records each effect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from kefu.core.clock import FrozenClock, set_clock
from kefu.jobs.registry import JobContext
from tests.conftest import Database

# Test-only names: real job names live in kefu.jobs.names.
TEST_JOB = "test.effect"

effects_metadata = MetaData()
effects = Table(
    "test_job_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False),
    Column("attempt", Integer, nullable=False),
)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


@pytest.fixture
async def effects_table(db: Database) -> AsyncIterator[Table]:
    async with db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    yield effects
    async with db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.drop_all)


async def write_effect(ctx: JobContext, payload: dict[str, object]) -> None:
    """A handler whose only effect is one row, in the job's own transaction."""
    await ctx.session.execute(effects.insert().values(key=str(payload["key"]), attempt=ctx.attempt))


async def effect_keys(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(effects.c.key).order_by(effects.c.id))).all())


async def effect_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return (await session.scalar(select(func.count()).select_from(effects))) or 0
