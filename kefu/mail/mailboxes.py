"""Support mailboxes: which recipient addresses Kefu accepts mail for, and the team each routes to.

A mailbox is an active email inbox (console) or an address in `KEFU_SUPPORT_ADDRESSES`. Plus-addresses
(`support+KF-12345678@…`) belong to their base mailbox; the tag is kept for threading. Anything else is
refused at RCPT, so the listener is never an open relay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.cache import ConfigCache
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.settings import Settings


@dataclass(frozen=True)
class Mailbox:
    """One support address and where its mail goes."""

    address: str
    inbox_id: uuid.UUID | None
    team_id: uuid.UUID | None


@dataclass(frozen=True)
class Recipient:
    """A recipient address resolved to its mailbox; `tag` is the part after "+" (may name a KF- reference)."""

    mailbox: Mailbox
    tag: str | None


def split_address(address: str) -> tuple[str, str | None] | None:
    """(`local@domain` without the +tag, tag) lower-cased, or None when it is not one plain address."""
    address = address.strip().strip("<>").strip()
    if not address or len(address) > 320 or any(ch.isspace() or ord(ch) < 32 for ch in address):
        return None
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local or '"' in local:
        return None
    base, plus, tag = local.partition("+")
    if not base:
        return None
    return f"{base}@{domain}".lower(), (tag if plus and tag else None)


def configured_addresses(settings: Settings) -> dict[str, str | None]:
    """`KEFU_SUPPORT_ADDRESSES` as {address: team slug or None}; malformed entries are skipped."""
    found: dict[str, str | None] = {}
    for item in settings.support_addresses.split(","):
        address, _, slug = item.strip().partition("=")
        split = split_address(address)
        if split is not None and split[1] is None:
            found[split[0]] = slug.strip() or None
    return found


MAILBOXES: ConfigCache[dict[str, Mailbox]] = ConfigCache("mailboxes")


async def _load(session: AsyncSession, settings: Settings) -> dict[str, Mailbox]:
    slugs = {t.slug: t.id for t in await session.scalars(select(Team))}
    boxes = {
        address: Mailbox(address, None, slugs.get(slug) if slug else None)
        for address, slug in configured_addresses(settings).items()
    }
    inboxes = await session.scalars(
        select(Inbox).where(Inbox.channel == ChannelKind.EMAIL, Inbox.is_active.is_(True))
    )
    for inbox in inboxes:
        split = split_address(inbox.address)
        if split is not None:
            boxes[split[0]] = Mailbox(split[0], inbox.id, inbox.team_id)
    return boxes


async def get_mailboxes(session: AsyncSession, settings: Settings) -> dict[str, Mailbox]:
    """Every support mailbox by address (cached a few seconds per process)."""

    async def load(own: AsyncSession) -> dict[str, Mailbox]:
        return await _load(own, settings)

    return await MAILBOXES.get(session, settings.support_addresses, load)


async def resolve_recipient(session: AsyncSession, settings: Settings, address: str) -> Recipient | None:
    """The mailbox an RCPT TO address belongs to, or None when we do not accept mail for it."""
    split = split_address(address)
    if split is None:
        return None
    base, tag = split
    mailbox = (await get_mailboxes(session, settings)).get(base)
    return Recipient(mailbox, tag) if mailbox is not None else None
