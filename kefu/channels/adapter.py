"""The one contract every social and phone channel implements (Telegram, Messenger, X, phone).

Inbound, an adapter's webhook (or poller) turns the provider's wire format into an `InboundMessage`
and hands it to `kefu.channels.ingest.do_ingest`, the path every channel shares (customer, conversation,
redaction, files, routing, SLA). Outbound, an agent's reply becomes a `channel.deliver` job that calls
the adapter's `send` (kefu.channels.delivery), with retries and the provider's rate limits honoured.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kefu.inboxes.models import ChannelKind


@dataclass(frozen=True, slots=True)
class ChannelFile:
    """A file in either direction: bytes as received or as stored, the name and type to show."""

    data: bytes
    filename: str
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What a customer sent on a channel, in the provider's terms turned into ours."""

    inbox_id: uuid.UUID
    channel: ChannelKind
    # The provider's id of the sender (Telegram user id, page-scoped id, X user id, E.164 number):
    # stored as the contact's identity of that channel, so their next message finds them again.
    sender_id: str
    # The provider's id of this message (update, mid, event id, call sid): a redelivery is ignored.
    external_id: str
    text: str = ""
    sender_name: str = ""
    locale: str | None = None
    files: tuple[ChannelFile, ...] = ()
    # Shown to agents on the message (e.g. the phone menu path, a recording reference).
    facts: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """An agent's reply as the provider will carry it."""

    text: str
    files: tuple[ChannelFile, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelInbox:
    """An inbox as its adapter needs it: settings and opened credentials (never logged)."""

    id: uuid.UUID
    channel: ChannelKind
    address: str
    config: Mapping[str, object]
    secrets: Mapping[str, str]

    def __repr__(self) -> str:
        return f"ChannelInbox(id={self.id}, channel={self.channel}, address={self.address!r})"


@dataclass(frozen=True, slots=True)
class Delivered:
    """The provider accepted the reply; its ids (several when text and files went separately)."""

    external_ids: tuple[str, ...]


class DeliveryRefused(Exception):
    """The provider will never take this reply (blocked bot, closed 24-hour window, unknown user).

    Not retried: the agent is told on the timeline, with `code` naming the reason.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChannelAdapter(Protocol):
    """One provider. Raise `kefu.jobs.registry.RetryAfter` when rate limited, `DeliveryRefused` when
    retrying cannot help; any other exception is retried with backoff."""

    channel: ChannelKind

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        """Deliver `message` to `recipient` (the sender_id the customer wrote from)."""
        ...

    async def configure(self, inbox: ChannelInbox) -> None:
        """Tell the provider about the inbox once it is saved (e.g. Telegram's setWebhook); may be a no-op."""
        ...

    async def aclose(self) -> None:
        """Release connections at shutdown."""
        ...
