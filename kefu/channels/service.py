"""Reads of the official-channel registry."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.core.errors import NotFound

# A registry is a short list (a handful per kind); this bounds a page and an API answer.
LIST_LIMIT = 1000


async def list_channels(session: AsyncSession, *, kind: OfficialKind | None = None) -> list[OfficialChannel]:
    """Every registered channel (of `kind`, if given), by kind, position and age."""
    query = select(OfficialChannel).order_by(
        OfficialChannel.kind, OfficialChannel.position, OfficialChannel.created_at, OfficialChannel.id
    )
    if kind is not None:
        query = query.where(OfficialChannel.kind == kind)
    return list(await session.scalars(query.limit(LIST_LIMIT)))


async def list_published(session: AsyncSession) -> list[OfficialChannel]:
    """The channels the contact page shows, in display order."""
    query = (
        select(OfficialChannel)
        .where(OfficialChannel.published_on_contact_page.is_(True))
        .order_by(
            OfficialChannel.kind, OfficialChannel.position, OfficialChannel.created_at, OfficialChannel.id
        )
    )
    return list(await session.scalars(query.limit(LIST_LIMIT)))


async def get_channel(session: AsyncSession, channel_id: uuid.UUID) -> OfficialChannel:
    """The channel; NotFound if missing."""
    channel = await session.get(OfficialChannel, channel_id)
    if channel is None:
        raise NotFound("official channel not found")
    return channel


async def find_channel(session: AsyncSession, kind: OfficialKind, value: str) -> OfficialChannel | None:
    """The registered channel with this canonical value, if any (callers normalise first)."""
    return await session.scalar(
        select(OfficialChannel).where(OfficialChannel.kind == kind, OfficialChannel.value == value)
    )
