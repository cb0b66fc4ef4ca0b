"""The phone channel's adapter: replies are never delivered by phone; saving an inbox is checked.

kefu.channels.delivery queues no delivery for phone conversations (they are answered by calling
back), so `send` only runs if that rule is ever bypassed: it refuses, and the agent is told why on the
timeline instead of a reply silently going nowhere. `configure` refuses an inbox without the Twilio
auth token its webhooks are verified with, or whose address is not an E.164 number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import phonenumbers

from kefu.channels.adapter import ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings


@dataclass
class PhoneAdapter:
    channel: ChannelKind = field(default=ChannelKind.PHONE)

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        """Always refuses: a phone conversation is answered by calling the customer back."""
        raise DeliveryRefused("phone", "phone conversations are answered by calling back, not by message")

    async def configure(self, inbox: ChannelInbox) -> None:
        """InvalidInput unless the inbox has an `auth_token` and its address is an E.164 number."""
        if not inbox.secrets.get("auth_token"):
            raise InvalidInput(
                "a phone inbox needs the Twilio auth_token", fields={"secrets.auth_token": "required"}
            )
        try:
            number = phonenumbers.parse(inbox.address, None)
        except phonenumbers.NumberParseException:
            number = None
        if (
            number is None
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != inbox.address
        ):
            raise InvalidInput(
                "a phone inbox's address is its number in E.164 form", fields={"address": "e164"}
            )

    async def aclose(self) -> None:
        return None


def build(settings: Settings) -> PhoneAdapter:
    """The phone adapter (no provider connection: Twilio calls us)."""
    del settings
    return PhoneAdapter()
