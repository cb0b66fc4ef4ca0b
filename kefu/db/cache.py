"""Read-mostly configuration (triggers, SLA policies, business hours) cached in each process.

Every conversation change consults these tables; reading them on each request would cost a third of
the create path's round trips. A value is kept for `ttl` seconds; a change made in this process
drops it at once (and again after its commit, so a reader between the two cannot keep the old
value), and other processes see the change within `ttl`.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.uow import after_commit

T = TypeVar("T")
DEFAULT_TTL: Final = 5.0
_caches: weakref.WeakSet[ConfigCache[object]] = weakref.WeakSet()


class ConfigCache(Generic[T]):
    """Values by key, each loaded once per `ttl` seconds from the database."""

    def __init__(
        self,
        name: str,
        *,
        ttl: float = DEFAULT_TTL,
        max_keys: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._clock = clock
        self._ttl = ttl
        self._max_keys = max_keys
        self._values: dict[Hashable, tuple[float, T]] = {}
        _caches.add(self)  # type: ignore[arg-type]

    async def get(
        self, session: AsyncSession, key: Hashable, load: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """The cached value of `key`, loaded with `load(session)` when missing or older than ttl."""
        now = self._clock()
        found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = await load(session)
        if len(self._values) >= self._max_keys:
            self._values.clear()
        self._values[key] = (now + self._ttl, value)
        return value

    def invalidate(self) -> None:
        """Forget every value now."""
        self._values.clear()

    def invalidate_after_commit(self, session: AsyncSession) -> None:
        """Forget every value now and once `session` commits (call from the action that changes it)."""
        self.invalidate()

        async def forget() -> None:
            self.invalidate()

        after_commit(session, forget)


def clear_config_caches() -> None:
    """Forget every cached value in this process (tests switching databases)."""
    for cache in list(_caches):
        cache.invalidate()
