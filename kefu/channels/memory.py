"""An in-memory channel adapter: what the contract tests run against besides each real adapter,
and a stand-in for development. Records every send; can be told to refuse or to rate limit."""

from __future__ import annotations

from dataclasses import dataclass, field

from kefu.channels.adapter import ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter


@dataclass
class SentMessage:
    inbox_id: str
    recipient: str
    message: OutboundMessage
    idempotency_key: str


@dataclass
class MemoryAdapter:
    channel: ChannelKind
    sent: list[SentMessage] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    # Set to make the next sends fail: a DeliveryRefused code, or seconds to wait (rate limited).
    refuse: str | None = None
    throttle: float | None = None
    _by_key: dict[str, Delivered] = field(default_factory=dict)

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        if self.throttle is not None:
            raise RetryAfter(self.throttle, "rate limited")
        if self.refuse is not None:
            raise DeliveryRefused(self.refuse, f"refused: {self.refuse}")
        # Like the providers that support it: a repeated key is answered, not sent again.
        if idempotency_key in self._by_key:
            return self._by_key[idempotency_key]
        self.sent.append(SentMessage(str(inbox.id), recipient, message, idempotency_key))
        delivered = Delivered((f"m{len(self.sent)}",))
        self._by_key[idempotency_key] = delivered
        return delivered

    async def configure(self, inbox: ChannelInbox) -> None:
        self.configured.append(str(inbox.id))

    async def aclose(self) -> None:
        return None
