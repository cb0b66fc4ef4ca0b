"""Rate limits: a sliding window in process memory (per connection), and the Limiter interface with a
memory and a Redis implementation (per visitor, shared by every node when Redis is configured)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

_MAX_KEYS: Final = 100_000


class SlidingWindow:
    """At most `limit` events per `seconds` per key; `hit` records one and says whether it was allowed.

    Refused events are not recorded, so a client that keeps hammering is refused only for as long as
    its accepted events stay in the window. `over` tells how far past the limit the refusals went.
    """

    def __init__(self, limit: int, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("limit and seconds must be positive")
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._refused: dict[str, int] = {}

    def hit(self, key: str) -> bool:
        """Record an event for `key` if the window has room; False (and nothing recorded) if not."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= _MAX_KEYS:
                self._prune(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            self._refused[key] = self._refused.get(key, 0) + 1
            return False
        self._refused.pop(key, None)
        events.append(now)
        return True

    def refused_in_a_row(self, key: str) -> int:
        """How many events of `key` were refused since the last allowed one."""
        return self._refused.get(key, 0)

    def _prune(self, now: float) -> None:
        stale = [k for k, events in self._events.items() if not events or events[-1] <= now - self.seconds]
        for key in stale:
            self._events.pop(key, None)
            self._refused.pop(key, None)


class Limiter(Protocol):
    """Counts events per key; `hit` records one and says whether it was within the limit."""

    async def hit(self, key: str) -> bool: ...

    async def close(self) -> None: ...


class MemoryLimiter:
    """A SlidingWindow behind the Limiter interface: one process (one node) counts alone."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.window = SlidingWindow(limit, seconds)

    async def hit(self, key: str) -> bool:
        return self.window.hit(key)

    async def close(self) -> None:
        """Nothing to release."""


class RedisLimiter:
    """A fixed-window counter in Redis, shared by every node (a visitor may reconnect anywhere).

    Up to twice the limit can pass around a window boundary; that is the price of one round trip per
    event. When Redis fails the event is allowed (logged): a broken limiter must not stop the chat.
    """

    def __init__(self, client: Redis, *, name: str, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("limit and seconds must be positive")
        self._redis = client
        self.name = name
        self.limit = limit
        self.seconds = seconds

    async def hit(self, key: str) -> bool:
        window = int(time.time() // self.seconds)
        redis_key = f"kefu:limit:{self.name}:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, int(self.seconds) + 1)
                count, _ = await pipe.execute()
        except RedisError as exc:
            log.warning("rate_limit_unavailable", limiter=self.name, error=type(exc).__name__)
            return True
        return int(count) <= self.limit

    async def close(self) -> None:
        """The client is shared; its owner closes it."""
