"""Per-process configuration cache: loads once per ttl, forgets on local changes and after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.cache import ConfigCache, clear_config_caches
from kefu.db.uow import transaction
from tests.conftest import Database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_loads_once_per_ttl_and_per_key(db: Database, clock: Clock) -> None:
    loads: list[str] = []
    cache: ConfigCache[str] = ConfigCache("test", ttl=5, clock=clock)

    def loader(key: str) -> Callable[[AsyncSession], Awaitable[str]]:
        async def load(session: AsyncSession) -> str:
            loads.append(key)
            return f"value of {key}"

        return load

    async with db.sessionmaker() as session:
        assert await cache.get(session, "a", loader("a")) == "value of a"
        assert await cache.get(session, "a", loader("a")) == "value of a"
        assert await cache.get(session, "b", loader("b")) == "value of b"
        clock.now += 4.9
        await cache.get(session, "a", loader("a"))
        assert loads == ["a", "b"]
        clock.now += 0.2
        await cache.get(session, "a", loader("a"))
        assert loads == ["a", "b", "a"]


async def test_a_change_forgets_now_and_again_after_commit(db: Database, clock: Clock) -> None:
    loads = 0
    cache: ConfigCache[int] = ConfigCache("test", ttl=60, clock=clock)

    async def load(session: AsyncSession) -> int:
        nonlocal loads
        loads += 1
        return loads

    async with transaction(db.sessionmaker) as session:
        assert await cache.get(session, None, load) == 1
        cache.invalidate_after_commit(session)
        # A reader between the change and its commit may cache the old value ...
        assert await cache.get(session, None, load) == 2
    # ... which the commit drops again.
    async with db.sessionmaker() as session:
        assert await cache.get(session, None, load) == 3
        clear_config_caches()
        assert await cache.get(session, None, load) == 4


async def test_fresh_reads_without_loading_and_refresh_ahead_replaces_an_expiring_value(
    db: Database, clock: Clock
) -> None:
    cache: ConfigCache[str] = ConfigCache("test", ttl=5, clock=clock)
    assert cache.fresh("a") is None  # nothing loaded, and fresh never loads

    async def load(session: AsyncSession) -> str:
        return f"loaded at {clock.now}"

    async with db.sessionmaker() as session:
        await cache.get(session, "a", load)
        assert cache.fresh("a") == "loaded at 1000.0"
        clock.now += 4.5
        assert cache.fresh("a") == "loaded at 1000.0"
        assert cache.fresh("a", margin=1.0) is None  # expires within the margin
        cache.invalidate_if_expiring("a", 0.1)  # not that soon: kept
        assert await cache.get(session, "a", load) == "loaded at 1000.0"
        cache.invalidate_if_expiring("a", 1.0)
        assert await cache.get(session, "a", load) == "loaded at 1004.5"
        clock.now += 5.0
        assert cache.fresh("a") is None
