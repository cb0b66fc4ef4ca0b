"""The publish/subscribe port: fire-and-forget fan-out of byte messages to every live subscriber.

Delivery is best-effort and at-most-once: a subscriber only sees messages published after its
`async with` block has been entered. Durable work goes through the outbox (`kefu.jobs`) instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Protocol, Self

Message = tuple[str, bytes]


class SubscriptionLost(Exception):
    """Messages may have been missed: the subscriber should resubscribe and resynchronise."""


class SubscriptionOverflow(SubscriptionLost):
    """The subscriber fell too far behind and was dropped rather than slow down publishers."""


class Subscription(Protocol):
    """Entered with `async with`, then iterated for `(channel, message)` pairs.

    Iteration raises `SubscriptionLost` (after the messages received before the gap) when delivery
    can no longer be guaranteed, and stops when the subscription or its PubSub is closed.
    """

    @property
    def channels(self) -> tuple[str, ...]: ...

    @property
    def overflowed(self) -> bool: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def __anext__(self) -> Message: ...


class PubSub(Protocol):
    """A message fan-out shared by every node (Redis) or by one process (memory)."""

    async def publish(self, channel: str, message: bytes) -> None:
        """Send `message` to every current subscriber of `channel`; never waits for them."""
        ...

    def subscribe(self, *channels: str) -> Subscription:
        """A subscription to `channels`, active once entered with `async with`."""
        ...

    async def ping(self) -> None:
        """Raise unless the backend can take messages now (readiness probes)."""
        ...

    async def close(self) -> None:
        """Stop every subscription and release connections; idempotent."""
        ...
