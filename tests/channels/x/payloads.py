"""Account Activity API deliveries as X documents them, signed like X signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from tests.channels.x.standin import SUPPORT_ID

CONSUMER_SECRET = "consumer-secret-abcdefghijklmnopqrstuvwxyz012345"
CUSTOMER_ID = "3001969357"


def signed(body: bytes, secret: str = CONSUMER_SECRET) -> dict[str, str]:
    """The headers of a delivery of `body`."""
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"x-twitter-webhooks-signature": f"sha256={digest}", "content-type": "application/json"}


def dm_event(
    event_id: str = "954491830116155396",
    text: str = "Hello World!",
    *,
    sender: str = CUSTOMER_ID,
    recipient: str = SUPPORT_ID,
    attachment: dict[str, Any] | None = None,
    urls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One `message_create` event."""
    data: dict[str, Any] = {
        "text": text,
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": urls or []},
    }
    if attachment is not None:
        data["attachment"] = attachment
    return {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": "1516403560557",
        "message_create": {
            "target": {"recipient_id": recipient},
            "sender_id": sender,
            "source_app_id": "13090192",
            "message_data": data,
        },
    }


def activity(*events: dict[str, Any], for_user_id: str = SUPPORT_ID) -> bytes:
    """A delivery of DM events with the users X includes."""
    body = {
        "for_user_id": for_user_id,
        "direct_message_events": list(events),
        "apps": {
            "13090192": {"id": "13090192", "name": "FuriousCamperTestApp1", "url": "https://twitter.com"}
        },
        "users": {
            CUSTOMER_ID: {
                "id": CUSTOMER_ID,
                "created_timestamp": "1422556069340",
                "name": "Jordan Brinks",
                "screen_name": "furiouscamper",
                "protected": False,
                "verified": False,
                "followers_count": 22,
                "friends_count": 45,
                "statuses_count": 494,
            },
            SUPPORT_ID: {"id": SUPPORT_ID, "name": "Kefu Support", "screen_name": "kefu_support"},
        },
    }
    return json.dumps(body).encode()
