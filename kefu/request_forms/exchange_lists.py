"""The exchange's trading pairs and networks as the request forms use them: cached, never failing.

A form must work while the exchange's back office is down, so a failure (or no exchange at all)
answers None / an empty tuple and callers fall back to shape checks. Lists are kept for a few
minutes; a failure is remembered for a short while so a dead exchange does not slow every request.

Conversation creation has no handle on the runtime, so the process installs its exchange here at
start-up (`install_exchange`), the way the event bus is installed.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import structlog

from kefu.integrations.exchange.port import ExchangePort

log = structlog.get_logger(__name__)

LIST_TTL_SECONDS: Final = 300.0
FAILURE_TTL_SECONDS: Final = 30.0
WAIT_SECONDS: Final = 2.0

T = TypeVar("T")

_installed: ExchangePort | None = None


def install_exchange(exchange: ExchangePort | None) -> ExchangePort | None:
    """Make `exchange` the one request forms consult (None: none); returns the previous one."""
    global _installed
    previous, _installed = _installed, exchange
    return previous


def installed_exchange() -> ExchangePort | None:
    """The exchange installed for this process, if any."""
    return _installed


@dataclass
class _Entry(Generic[T]):
    expires: float
    value: T | None  # None: the exchange failed


class _ListCache(Generic[T]):
    """One value per exchange object, refreshed every LIST_TTL_SECONDS."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.clock = clock
        self._entries: weakref.WeakKeyDictionary[object, _Entry[T]] = weakref.WeakKeyDictionary()

    async def get(self, exchange: ExchangePort, load: Callable[[], Awaitable[T]]) -> T | None:
        now = self.clock()
        entry = self._entries.get(exchange)
        if entry is not None and entry.expires > now:
            return entry.value
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                value: T | None = await load()
        except Exception:  # a form must work whatever the exchange does
            log.warning("request_form_exchange_unavailable", list=self.name, exc_info=True)
            value = None
        ttl = LIST_TTL_SECONDS if value is not None else FAILURE_TTL_SECONDS
        self._entries[exchange] = _Entry(now + ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


_pairs: _ListCache[frozenset[str]] = _ListCache("pairs")
_networks: _ListCache[tuple[str, ...]] = _ListCache("networks")


async def known_pairs(exchange: ExchangePort | None = None) -> frozenset[str] | None:
    """Symbols ("BTC/USDT") of every pair the exchange lists, whatever their status; None if unknown."""
    port = exchange or _installed
    if port is None:
        return None

    async def load() -> frozenset[str]:
        return frozenset(p.symbol for p in await port.list_pairs())

    return await _pairs.get(port, load)


async def known_networks(exchange: ExchangePort | None = None) -> tuple[str, ...]:
    """The exchange's network names, sorted; empty when unknown or unavailable."""
    port = exchange or _installed
    if port is None:
        return ()

    async def load() -> tuple[str, ...]:
        return tuple(sorted({n.network for n in await port.list_networks()}))

    return await _networks.get(port, load) or ()


def clear_exchange_lists() -> None:
    """Forget the cached lists (tests)."""
    _pairs.clear()
    _networks.clear()


def use_clock(clock: Callable[[], float]) -> Callable[[], float]:
    """Measure cache ages with `clock` (tests); returns the previous clock."""
    previous = _pairs.clock
    _pairs.clock = _networks.clock = clock
    return previous
