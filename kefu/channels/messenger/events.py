"""Messenger Platform webhooks (Facebook Pages and Instagram): the handshake, the signature, the body.

Meta signs every delivery with the app secret: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body>`. The body is `{"object": "page"|"instagram", "entry": [{"id", "time", "messaging": [...]}]}`;
each messaging item is one event. Kefu keeps customers' messages (text and attachments); receipts,
reads, reactions and postbacks are not kept, and echoes (`is_echo`: what the page itself sent) are
skipped so an agent's reply never comes back as a customer message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

OBJECTS: Final = frozenset({"page", "instagram"})
# Attachment types whose payload.url is a file to fetch; the others (fallback links, templates,
# story mentions, shares) are described to the agent instead.
DOWNLOADABLE: Final = frozenset({"image", "video", "audio", "file"})
MAX_ITEMS: Final = 1000
MAX_ATTACHMENTS: Final = 10
# Meta's challenge is a number; anything else is not echoed back.
_CHALLENGE_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_ID_RE: Final = re.compile(r"[0-9A-Za-z_.:-]{1,200}")


class MalformedDelivery(ValueError):
    """The body is not a Messenger Platform delivery (not JSON, wrong object, no entry list)."""


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """One attachment of a customer's message: its type and, for files, where Meta keeps it."""

    type: str
    url: str | None


@dataclass(frozen=True, slots=True)
class MessagingEvent:
    """A customer's message: `sender_id` is the page-scoped (PSID) or Instagram-scoped (IGSID) id."""

    platform: str
    account_id: str
    sender_id: str
    mid: str
    text: str
    timestamp: int
    attachments: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """The messages of one delivery, and how many items were not usable (skipped, not fatal)."""

    events: tuple[MessagingEvent, ...]
    skipped: int


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (X-Hub-Signature-256) is the HMAC-SHA256 of `body` under `app_secret`."""
    if not app_secret or not header:
        return False
    scheme, _, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.strip().lower().encode())


def challenge_answer(params: Mapping[str, str], verify_token: str) -> str | None:
    """The subscription handshake: `hub.challenge` when mode and token match, otherwise None."""
    token = params.get("hub.verify_token", "")
    challenge = params.get("hub.challenge", "")
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge if _CHALLENGE_RE.fullmatch(challenge) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _id(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _ID_RE.fullmatch(value) else None


def _attachments(raw: object) -> tuple[AttachmentRef, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        return None
    refs = []
    for item in raw[:MAX_ATTACHMENTS]:
        if not isinstance(item, dict):
            return None
        kind = _text(item.get("type"))[:40] or "unknown"
        payload = item.get("payload")
        url = payload.get("url") if isinstance(payload, dict) else None
        refs.append(AttachmentRef(kind, url if isinstance(url, str) and kind in DOWNLOADABLE else None))
    return tuple(refs)


def _event(platform: str, account_id: str, item: Any) -> MessagingEvent | bool | None:
    """The message in `item`; None when it is not one Kefu keeps; False when it is malformed."""
    if not isinstance(item, dict):
        return False
    message = item.get("message")
    if message is None:
        return None  # delivery/read receipts, postbacks, reactions, referrals
    sender = item.get("sender")
    if not isinstance(message, dict) or not isinstance(sender, dict):
        return False
    if message.get("is_echo") or message.get("is_deleted"):
        return None
    sender_id, mid = _id(sender.get("id")), message.get("mid")
    attachments = _attachments(message.get("attachments"))
    if sender_id is None or not isinstance(mid, str) or not mid or len(mid) > 300 or attachments is None:
        return False
    if sender_id == account_id:
        return None  # the page itself
    timestamp = item.get("timestamp")
    return MessagingEvent(
        platform=platform,
        account_id=account_id,
        sender_id=sender_id,
        mid=mid,
        text=_text(message.get("text")),
        timestamp=timestamp if isinstance(timestamp, int) and not isinstance(timestamp, bool) else 0,
        attachments=attachments,
    )


def parse_delivery(body: bytes) -> ParsedDelivery:
    """The customers' messages in a (signature-checked) delivery; MalformedDelivery when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedDelivery("the body is not JSON") from exc
    if not isinstance(data, dict) or data.get("object") not in OBJECTS:
        raise MalformedDelivery('not a Messenger Platform delivery (object must be "page" or "instagram")')
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise MalformedDelivery("entry must be a list")
    platform = str(data["object"])
    events: list[MessagingEvent] = []
    skipped = seen = 0
    for entry in entries:
        account_id = _id(entry.get("id")) if isinstance(entry, dict) else None
        items = entry.get("messaging", []) if isinstance(entry, dict) else None
        if account_id is None or not isinstance(items, list):
            skipped += 1
            continue
        for item in items:
            seen += 1
            if seen > MAX_ITEMS:
                raise MalformedDelivery(f"more than {MAX_ITEMS} messaging items")
            event = _event(platform, account_id, item)
            if event is False:
                skipped += 1
            elif isinstance(event, MessagingEvent):
                events.append(event)
    return ParsedDelivery(tuple(events), skipped)
