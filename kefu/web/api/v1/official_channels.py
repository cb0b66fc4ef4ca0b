"""The registry of official channels (domains, addresses, numbers, handles): administrators only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from kefu.channels.actions import do_create_channel, do_delete_channel
from kefu.channels.models import OfficialKind
from kefu.channels.schemas import ChannelIn, ChannelOut
from kefu.channels.service import list_channels
from kefu.web.deps import Admin, DbSession, client_ip

router = APIRouter(prefix="/official-channels", tags=["official channels"])


@router.get("", response_model=list[ChannelOut])
async def official_channels(
    actor: Admin, session: DbSession, kind: OfficialKind | None = None
) -> list[ChannelOut]:
    """Admins: every registered channel (of `kind`, if given), by kind and position."""
    del actor
    return [ChannelOut.of(row) for row in await list_channels(session, kind=kind)]


@router.post("", status_code=201, response_model=ChannelOut)
async def create_official_channel(
    body: ChannelIn, actor: Admin, session: DbSession, request: Request
) -> ChannelOut:
    """Admins register a channel (its value stored in canonical form); 409 when it is registered."""
    channel = await do_create_channel(session, actor, body, ip=client_ip(request))
    return ChannelOut.of(channel)


@router.delete("/{channel_id}", status_code=204, response_class=Response)
async def delete_official_channel(
    channel_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> Response:
    """Admins remove a channel from the registry (404 when unknown)."""
    await do_delete_channel(session, actor, channel_id, ip=client_ip(request))
    return Response(status_code=204)
