"""Read-mostly rows (configuration, live API tokens) cached in each process.

Every conversation change consults triggers, SLA policies and business hours, and every API request
its token; reading them each time would cost a third of the create path's round trips. A value is
kept for `ttl` seconds; a change made in this process drops it at once (and again after its commit,
so a reader between the two cannot keep the old value), and other processes see the change within
`ttl`. A load that was under way while the cache was invalidated is used once but never stored.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import Table, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from kefu.db.uow import after_commit

T = TypeVar("T")
DEFAULT_TTL: Final = 5.0
_caches: weakref.WeakSet[ConfigCache[object]] = weakref.WeakSet()


def _always(_value: object) -> bool:
    return True


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
        self.ttl = ttl
        self._clock = clock
        self._max_keys = max_keys
        self._values: dict[Hashable, tuple[float, T]] = {}
        # Bumped by every invalidation: a load that saw an older generation must not be stored.
        self._generation = 0
        _caches.add(self)  # type: ignore[arg-type]

    async def get(
        self,
        session: AsyncSession,
        key: Hashable,
        load: Callable[[AsyncSession], Awaitable[T]],
        *,
        keep: Callable[[T], bool] = _always,
    ) -> T:
        """The cached value of `key`, loaded with `load(session)` when missing or older than ttl.

        A loaded value is stored only when `keep(value)` (e.g. never an unknown token).
        """
        now = self._clock()
        found = self._values.get(key)
        if found is not None and found[0] > now:
            return found[1]
        generation = self._generation
        value = await load(session)
        if generation == self._generation and keep(value):
            if len(self._values) >= self._max_keys:
                self._values.clear()
            self._values[key] = (now + self.ttl, value)
        return value

    def fresh(self, key: Hashable, *, margin: float = 0.0) -> T | None:
        """The cached value of `key` if it stays within its ttl for `margin` more seconds, else None
        (nothing is loaded).

        For hot paths that take a shortcut only while the configuration is known, and refresh it
        ahead of expiry (`margin`) so that steady traffic never finds it missing.
        """
        found = self._values.get(key)
        if found is not None and found[0] > self._clock() + margin:
            return found[1]
        return None

    def invalidate_if_expiring(self, key: Hashable, within: float) -> None:
        """Forget `key`'s value if it expires within `within` seconds (so that `get` reads it again)."""
        found = self._values.get(key)
        if found is not None and found[0] <= self._clock() + within:
            del self._values[key]

    def invalidate(self) -> None:
        """Forget every value now."""
        self._values.clear()
        self._generation += 1

    def invalidate_after_commit(self, session: AsyncSession) -> None:
        """Forget every value now and once `session` commits (call from the action that changes it)."""
        self.invalidate()

        async def forget() -> None:
            self.invalidate()

        after_commit(session, forget)

    def use_clock(self, clock: Callable[[], float]) -> Callable[[], float]:
        """Install a monotonic clock (tests); returns the previous one so it can be restored."""
        previous, self._clock = self._clock, clock
        return previous


def clear_config_caches() -> None:
    """Forget every cached value in this process (tests switching databases)."""
    for cache in list(_caches):
        cache.invalidate()


# --- invalidation by any write through a session ------------------------------------------------

_STALE_KEY = "kefu.stale_caches"
_watched: list[tuple[ConfigCache[Any], tuple[type[Any], ...], frozenset[Table]]] = []


def invalidate_on_change(cache: ConfigCache[Any], models: Iterable[type[Any]]) -> None:
    """Forget `cache` whenever any session of this process writes a row of `models`.

    Covers ORM flushes (inserted, changed or deleted objects) and INSERT/UPDATE/DELETE statements
    run through `Session.execute`; the cache is dropped when the write is sent and again at commit.
    Statements sent on a raw connection (`session.connection().execute`) are not seen: code that
    writes these tables that way must invalidate the cache itself.
    """
    classes = tuple(models)
    tables = frozenset(model.__table__ for model in classes)
    if not _watched:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "after_commit", _after_commit)
    _watched.append((cache, classes, tables))


def _mark_stale(session: Session, cache: ConfigCache[Any]) -> None:
    cache.invalidate()
    stale: set[ConfigCache[Any]] = session.info.setdefault(_STALE_KEY, set())
    stale.add(cache)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # In after_flush, new/dirty/deleted still list what this flush wrote.
    written = [*session.new, *session.dirty, *session.deleted]
    if not written:
        return
    for cache, classes, _tables in _watched:
        if any(isinstance(row, classes) for row in written):
            _mark_stale(session, cache)


def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    for cache, _classes, tables in _watched:
        if table in tables:
            _mark_stale(state.session, cache)


def _after_commit(session: Session) -> None:
    for cache in session.info.pop(_STALE_KEY, ()):
        cache.invalidate()
