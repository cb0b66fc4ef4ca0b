"""The sliding window: allows up to the limit per window, forgets old events, counts refusals."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from redis.asyncio import Redis

from kefu.core.ratelimit import RedisLimiter, SlidingWindow


def test_allows_the_limit_per_window_and_recovers_as_events_age() -> None:
    now = [0.0]
    window = SlidingWindow(3, 60.0, clock=lambda: now[0])
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]
    assert window.hit("b")  # keys are independent
    assert window.refused_in_a_row("a") == 1
    now[0] = 59.9
    assert not window.hit("a")
    assert window.refused_in_a_row("a") == 2
    now[0] = 60.0
    assert window.hit("a")  # the first event left the window; refusals were never recorded
    assert window.refused_in_a_row("a") == 0


@pytest.mark.parametrize(("limit", "seconds"), [(0, 1.0), (1, 0.0), (-1, 5.0)])
def test_rejects_meaningless_limits(limit: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindow(limit, seconds)


async def test_redis_limits_are_shared_by_every_node(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    name = f"test-{uuid.uuid4().hex[:8]}"
    try:
        node_a = RedisLimiter(first, name=name, limit=3, seconds=60)
        node_b = RedisLimiter(second, name=name, limit=3, seconds=60)
        assert [await node_a.hit("visitor"), await node_b.hit("visitor"), await node_a.hit("visitor")] == [
            True,
            True,
            True,
        ]
        assert not await node_b.hit("visitor")  # the fourth, wherever it arrives
        assert await node_b.hit("someone-else")
        ttl = await first.ttl(f"kefu:limit:{name}:visitor:{int(time.time() // 60)}")
        assert 0 < ttl <= 61  # counters expire on their own
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_broken_redis_lets_events_through() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    try:
        limiter = RedisLimiter(client, name="down", limit=1, seconds=60)
        assert await limiter.hit("visitor")
        assert await limiter.hit("visitor")
    finally:
        await client.aclose()
