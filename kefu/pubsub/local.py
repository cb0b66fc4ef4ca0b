"""In-process fan-out shared by both backends: bounded per-subscriber buffers, never blocking publishers."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Protocol, Self

from kefu.pubsub.base import Message, SubscriptionLost, SubscriptionOverflow

DEFAULT_MAX_PENDING = 1000


def check_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """Validate channel names (non-empty text) and drop duplicates, keeping order."""
    unique = tuple(dict.fromkeys(channels))
    if not unique:
        raise ValueError("subscribe needs at least one channel")
    for channel in unique:
        if not isinstance(channel, str) or not channel:
            raise ValueError(f"invalid channel name: {channel!r}")
    return unique


def check_message(message: bytes) -> bytes:
    """Messages are bytes; refusing anything else keeps `bytes(5)`-style surprises out."""
    if not isinstance(message, bytes | bytearray | memoryview):
        raise TypeError(f"a message is bytes, not {type(message).__name__}")
    return bytes(message)


class _Owner(Protocol):
    async def _attach(self, subscription: LocalSubscription) -> None: ...

    async def _detach(self, subscription: LocalSubscription) -> None: ...


class Hub:
    """Which local subscriptions listen to which channel."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[LocalSubscription]] = {}

    @property
    def channels(self) -> frozenset[str]:
        """Channels with at least one local listener."""
        return frozenset(self._listeners)

    def attach(self, subscription: LocalSubscription) -> list[str]:
        """Add a listener; returns the channels that had none before."""
        new = [c for c in subscription.channels if c not in self._listeners]
        for channel in subscription.channels:
            self._listeners.setdefault(channel, set()).add(subscription)
        return new

    def detach(self, subscription: LocalSubscription) -> list[str]:
        """Remove a listener (idempotent); returns the channels nobody listens to any more."""
        gone = []
        for channel in subscription.channels:
            listeners = self._listeners.get(channel)
            if listeners is None:
                continue
            listeners.discard(subscription)
            if not listeners:
                del self._listeners[channel]
                gone.append(channel)
        return gone

    def deliver(self, channel: str, message: bytes) -> None:
        """Offer a message to each listener of `channel` without waiting for any of them."""
        for subscription in list(self._listeners.get(channel, ())):
            if not subscription.offer(channel, message):
                self.detach(subscription)

    def fail_all(self, error: SubscriptionLost | None) -> None:
        """End every subscription, with `error` (messages lost) or cleanly (None), and forget them."""
        subscriptions = {s for listeners in self._listeners.values() for s in listeners}
        self._listeners.clear()
        for subscription in subscriptions:
            subscription.end(error)


class LocalSubscription:
    """A bounded buffer fed by a `Hub`; one consumer task iterates it."""

    def __init__(self, owner: _Owner, channels: tuple[str, ...], max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._owner = owner
        self._channels = channels
        self._max_pending = max_pending
        self._buffer: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._error: SubscriptionLost | None = None
        self._ended = False
        self._entered = False
        self._overflowed = False
        # Set by the consumer: a message it takes over when offered (True) is not buffered, so a
        # subscriber that only samples some messages is not woken for each of them.
        self.hold: Callable[[str, bytes], bool] | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this subscription listens to."""
        return self._channels

    @property
    def queued(self) -> int:
        """Messages buffered and not yet taken by the consumer."""
        return len(self._buffer)

    @property
    def overflowed(self) -> bool:
        """True once the consumer fell behind by more than `max_pending` messages and was dropped."""
        return self._overflowed

    def offer(self, channel: str, message: bytes) -> bool:
        """Buffer a message; False (and the subscription ends with an overflow) when the buffer is full."""
        if self._ended:
            return False
        if self.hold is not None and self.hold(channel, message):
            return True
        if len(self._buffer) >= self._max_pending:
            self._overflowed = True
            self.end(SubscriptionOverflow(f"subscriber fell {self._max_pending} messages behind"))
            return False
        self._buffer.append((channel, message))
        self._ready.set()
        return True

    def end(self, error: SubscriptionLost | None = None) -> None:
        """Stop accepting messages; iteration drains the buffer, then raises `error` or stops."""
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._ready.set()

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a subscription can be entered only once")
        self._entered = True
        await self._owner._attach(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end()
        self._buffer.clear()
        await self._owner._detach(self)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        if not self._entered:
            raise RuntimeError("enter the subscription with `async with` before iterating it")
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
