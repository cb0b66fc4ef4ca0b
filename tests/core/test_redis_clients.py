"""Redis clients queue commands for a free connection instead of failing past the pool size."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import MaxConnectionsError

from kefu.core import redis_clients
from kefu.core.redis_clients import redis_client


async def test_more_commands_in_flight_than_connections_all_succeed(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_clients, "POOL_SIZE", 4)
    key = f"kefu-test:{uuid.uuid4().hex}"
    client = redis_client(redis_url, client_name="kefu-test")
    try:
        # Each command holds its connection for a moment, so forty are in flight at once.
        await asyncio.gather(
            *(client.eval("redis.call('INCR', KEYS[1]) return 1", 1, key) for _ in range(40))
        )
        assert await client.get(key) == b"40"
        assert client.connection_pool.max_connections == 4
    finally:
        await client.delete(key)
        await client.aclose()


async def test_the_default_pool_would_have_failed(redis_url: str) -> None:
    """A plain pool fails past its size: what redis-py's default (100) did to a busy node."""
    client = Redis.from_url(redis_url, max_connections=4)
    try:
        waits = [client.blpop([f"kefu-test:{uuid.uuid4().hex}"], 0.2) for _ in range(8)]
        results = await asyncio.gather(*waits, return_exceptions=True)
        assert any(isinstance(result, MaxConnectionsError) for result in results)
    finally:
        await client.aclose()
