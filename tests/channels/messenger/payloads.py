"""Webhook bodies as Meta documents them (Messenger Platform webhook events), signed like Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

APP_SECRET = "app-secret-0123456789abcdef"
VERIFY_TOKEN = "kefu-verify-4f1c"
PAGE_ID = "1067280970047460"
PSID = "6455393427911234"


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    """The headers of a delivery of `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}


def messaging(
    mid: str = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
    text: str | None = "Hello, my deposit has not arrived",
    *,
    sender: str = PSID,
    attachments: list[dict[str, Any]] | None = None,
    is_echo: bool = False,
) -> dict[str, Any]:
    """One messaging item with a message."""
    message: dict[str, Any] = {"mid": mid}
    if text is not None:
        message["text"] = text
    if attachments is not None:
        message["attachments"] = attachments
    if is_echo:
        message |= {"is_echo": True, "app_id": 1517776481860111}
    recipient = PAGE_ID if not is_echo else sender
    return {
        "sender": {"id": sender if not is_echo else PAGE_ID},
        "recipient": {"id": recipient},
        "timestamp": 1762902671000,
        "message": message,
    }


def delivery(*items: dict[str, Any], obj: str = "page", account: str = PAGE_ID) -> bytes:
    """A webhook body with `items` in one entry."""
    body = {"object": obj, "entry": [{"id": account, "time": 1762902671712, "messaging": list(items)}]}
    return json.dumps(body).encode()


def read_receipt() -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1762902672000,
        "read": {"watermark": 1762902671000},
    }
