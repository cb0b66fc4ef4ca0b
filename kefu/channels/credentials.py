"""Channel inboxes' credentials: one JSON object per inbox, sealed with the document keys.

The context binds the envelope to its inbox, so a sealed blob copied onto another inbox does not open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.adapter import ChannelInbox
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.storage.envelope import DecryptionFailed, Keyring, open_sealed, rewrap, seal, sealed_key_id


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


async def rotate_inbox_secrets(session: AsyncSession, keyring: Keyring) -> tuple[int, list[uuid.UUID]]:
    """Re-wrap every inbox's credentials not under the active key; (how many, inboxes that failed)."""
    rewrapped, failed = 0, []
    for inbox in await session.scalars(select(Inbox).where(Inbox.secrets_sealed.is_not(None))):
        sealed = inbox.secrets_sealed
        assert sealed is not None
        try:
            if sealed_key_id(sealed) == keyring.active_id:
                continue
            inbox.secrets_sealed = rewrap(keyring, sealed, context=_context(inbox))
        except DecryptionFailed:
            failed.append(inbox.id)
            continue
        rewrapped += 1
    return rewrapped, failed
