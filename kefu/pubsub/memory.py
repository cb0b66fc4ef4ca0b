"""In-process PubSub for the embedded single-process deployment and for tests."""

from __future__ import annotations

from kefu.pubsub.local import (
    DEFAULT_MAX_PENDING,
    Hub,
    LocalSubscription,
    check_channels,
    check_message,
)


class MemoryPubSub:
    """Fan-out inside one process; a subscriber more than `max_pending` messages behind is dropped."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        self._hub = Hub()
        self._closed = False

    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver to current subscribers of `channel` (none is fine)."""
        check_channels([channel])
        if self._closed:
            raise RuntimeError("publish on a closed PubSub")
        self._hub.deliver(channel, check_message(message))

    def subscribe(self, *channels: str) -> LocalSubscription:
        """A subscription to `channels`, active once entered."""
        return LocalSubscription(self, check_channels(channels), self._max_pending)

    async def ping(self) -> None:
        """Raise once closed; otherwise always ready."""
        if self._closed:
            raise RuntimeError("PubSub is closed")

    async def close(self) -> None:
        """End every subscription; later publishes and subscriptions fail."""
        self._closed = True
        self._hub.fail_all(None)

    async def _attach(self, subscription: LocalSubscription) -> None:
        if self._closed:
            raise RuntimeError("subscribe on a closed PubSub")
        self._hub.attach(subscription)

    async def _detach(self, subscription: LocalSubscription) -> None:
        self._hub.detach(subscription)
