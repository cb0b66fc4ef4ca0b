"""Channel inboxes' credentials: one JSON object per inbox, sealed with the document keys.

The context binds the envelope to its inbox, so a sealed blob copied onto another inbox does not open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from kefu.channels.adapter import ChannelInbox
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.storage.envelope import Keyring, open_sealed, seal


def _context(inbox: Inbox) -> bytes:
    return f"inbox:{inbox.id}".encode()


def seal_secrets(keyring: Keyring, inbox: Inbox, secrets: Mapping[str, str]) -> None:
    """Store `secrets` on `inbox` (replacing what was there); `inbox.id` must be set."""
    payload = json.dumps(dict(secrets), sort_keys=True, separators=(",", ":")).encode()
    inbox.secrets_sealed = seal(keyring, payload, context=_context(inbox))


def open_secrets(keyring: Keyring, inbox: Inbox) -> dict[str, str]:
    """The inbox's credentials (empty when none); DecryptionFailed when the key is gone."""
    if inbox.secrets_sealed is None:
        return {}
    loaded = json.loads(open_sealed(keyring, inbox.secrets_sealed, context=_context(inbox)))
    return {str(key): str(value) for key, value in loaded.items()}


def channel_inbox(keyring: Keyring, inbox: Inbox) -> ChannelInbox:
    """What an adapter is given about `inbox`."""
    return ChannelInbox(
        id=inbox.id,
        channel=ChannelKind(inbox.channel),
        address=inbox.address,
        config=dict(inbox.config or {}),
        secrets=open_secrets(keyring, inbox),
    )
