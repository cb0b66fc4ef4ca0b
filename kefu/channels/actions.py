"""Changes to the official-channel registry: admins add and remove entries, every change audited.

Actions never commit; the request (or the demo loader) owns the transaction.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.channels.models import OfficialChannel
from kefu.channels.schemas import ChannelIn
from kefu.channels.service import find_channel, get_channel
from kefu.channels.verify import forget_registry_after_commit
from kefu.conversations.create import check_team
from kefu.core.errors import Conflict

_TARGET = "official_channel"


def _conflict() -> Conflict:
    return Conflict("this channel is already registered", fields={"value": "already registered"})


async def do_create_channel(
    session: AsyncSession, actor: AgentActor | None, data: ChannelIn, *, ip: str | None = None
) -> OfficialChannel:
    """Register a channel (`data.value` is canonical already); Conflict when it exists, audited.

    `actor=None` is the system (the demo loader); callers have checked the actor is an admin.
    """
    await check_team(session, data.team_id)
    if await find_channel(session, data.kind, data.value) is not None:
        raise _conflict()
    channel = OfficialChannel(
        kind=data.kind,
        value=data.value,
        label=data.label,
        label_zh=data.label_zh,
        region=data.region,
        team_id=data.team_id,
        published_on_contact_page=data.published_on_contact_page,
        position=data.position,
    )
    session.add(channel)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # A concurrent request registered the same value first.
        raise _conflict() from None
    await record_audit(
        session,
        action="official_channel.created",
        actor=actor,
        target_type=_TARGET,
        target_id=str(channel.id),
        ip=ip,
        details={"kind": str(channel.kind), "value": channel.value, "label": channel.label},
    )
    forget_registry_after_commit(session)
    return channel


async def do_delete_channel(
    session: AsyncSession, actor: AgentActor | None, channel_id: uuid.UUID, *, ip: str | None = None
) -> None:
    """Remove a channel from the registry (NotFound when unknown), audited with what it was."""
    channel = await get_channel(session, channel_id)
    details = {"kind": str(channel.kind), "value": channel.value, "label": channel.label}
    await session.delete(channel)
    await session.flush()
    await record_audit(
        session,
        action="official_channel.deleted",
        actor=actor,
        target_type=_TARGET,
        target_id=str(channel_id),
        ip=ip,
        details=details,
    )
    forget_registry_after_commit(session)
