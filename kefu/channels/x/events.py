"""X Account Activity API webhooks: the CRC challenge, the signature, direct-message events.

X proves itself with the app's consumer secret: the CRC check (`GET ?crc_token=…`) is answered with
`sha256=<base64 HMAC-SHA256(consumer_secret, crc_token)>`, and each delivery carries
`x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer_secret, raw body)>`. A delivery is
`{"for_user_id", "direct_message_events": [{"type": "message_create", "id", "created_timestamp",
"message_create": {"sender_id", "target": {"recipient_id"}, "message_data": {"text", "entities",
"attachment"?}}}], "users": {id: {"name", "screen_name"}}}`; other activity (tweets, likes, follows,
typing and read indicators) is not kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Final

MAX_EVENTS: Final = 1000
MAX_CRC_TOKEN: Final = 512
_ID_RE: Final = re.compile(r"[0-9]{1,25}")


class MalformedActivity(ValueError):
    """The body is not an Account Activity delivery."""


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """A DM sent to the account: `sender_id` is the customer's X user id; `media` the attached type."""

    id: str
    sender_id: str
    recipient_id: str
    text: str
    sender_name: str = ""
    media: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedActivity:
    """The DMs of a delivery, for whom it is, and how many DM events were not usable."""

    for_user_id: str
    messages: tuple[DirectMessage, ...]
    skipped: int


def _hmac_b64(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def crc_response(consumer_secret: str, crc_token: str) -> str:
    """The `response_token` for X's CRC check."""
    return "sha256=" + _hmac_b64(consumer_secret, crc_token.encode())


def signature_ok(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (x-twitter-webhooks-signature) signs `body` with `consumer_secret`."""
    if not consumer_secret or not header:
        return False
    expected = "sha256=" + _hmac_b64(consumer_secret, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode("utf-8", "replace"))


def _id(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _ID_RE.fullmatch(value) else None


def expand_links(text: str, entities: object) -> str:
    """`text` with X's t.co links replaced by the addresses they stand for (what the customer wrote)."""
    urls = entities.get("urls") if isinstance(entities, dict) else None
    if not isinstance(urls, list):
        return text
    for item in urls[:50]:
        if isinstance(item, dict):
            short, full = item.get("url"), item.get("expanded_url")
            if isinstance(short, str) and short and isinstance(full, str):
                text = text.replace(short, full)
    return text


def _message(event: dict[str, Any], users: dict[str, Any]) -> DirectMessage | None:
    created = event.get("message_create")
    if not isinstance(created, dict):
        return None
    target = created.get("target")
    data = created.get("message_data")
    event_id, sender_id = _id(event.get("id")), _id(created.get("sender_id"))
    recipient_id = _id(target.get("recipient_id")) if isinstance(target, dict) else None
    if event_id is None or sender_id is None or recipient_id is None or not isinstance(data, dict):
        return None
    text = data.get("text")
    text = expand_links(text, data.get("entities")) if isinstance(text, str) else ""
    media = None
    attachment = data.get("attachment")
    if isinstance(attachment, dict):
        described = attachment.get("media")
        kind = described.get("type") if isinstance(described, dict) else None
        media = kind[:40] if isinstance(kind, str) else str(attachment.get("type", "media"))[:40]
    user = users.get(sender_id)
    name = user.get("name") if isinstance(user, dict) else None
    return DirectMessage(
        id=event_id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        text=text,
        sender_name=name[:200] if isinstance(name, str) else "",
        media=media,
    )


def parse_activity(body: bytes) -> ParsedActivity:
    """The DMs of a (signature-checked) delivery, ours excluded; MalformedActivity when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedActivity("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedActivity("the body is not a JSON object")
    for_user_id = _id(data.get("for_user_id"))
    if for_user_id is None:
        raise MalformedActivity("for_user_id is missing")
    events = data.get("direct_message_events", [])
    users = data.get("users", {})
    if not isinstance(events, list) or not isinstance(users, dict):
        raise MalformedActivity("direct_message_events must be a list and users an object")
    if len(events) > MAX_EVENTS:
        raise MalformedActivity(f"more than {MAX_EVENTS} events")
    messages, skipped = [], 0
    for event in events:
        if not isinstance(event, dict):
            skipped += 1
            continue
        if event.get("type") != "message_create":
            continue
        message = _message(event, users)
        if message is None:
            skipped += 1
        elif message.sender_id != for_user_id:  # our own replies come back as events too
            messages.append(message)
    return ParsedActivity(for_user_id, tuple(messages), skipped)
