"""`/channel-inboxes`: the Telegram bots, Messenger pages, X accounts and phone lines Kefu answers on.
Administrators only; credentials go in sealed and never come back out."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from kefu.channels.inboxes import (
    ChannelInboxChange,
    ChannelInboxIn,
    ChannelInboxOut,
    do_create_channel_inbox,
    do_update_channel_inbox,
    get_channel_inbox,
    inbox_out,
    list_channel_inboxes,
)
from kefu.trust.keys import keyring_from_settings
from kefu.web.deps import Admin, DbSession, RuntimeDep, client_ip

router = APIRouter(prefix="/channel-inboxes", tags=["channel inboxes"])


@router.get("", response_model=list[ChannelInboxOut])
async def channel_inboxes(actor: Admin, session: DbSession, runtime: RuntimeDep) -> list[ChannelInboxOut]:
    """Admins: every social and phone inbox, with the names (not values) of its credentials."""
    del actor
    keyring = keyring_from_settings(runtime.settings)
    return [inbox_out(inbox, keyring) for inbox in await list_channel_inboxes(session)]


@router.post("", status_code=201, response_model=ChannelInboxOut)
async def create_channel_inbox(
    body: ChannelInboxIn, actor: Admin, session: DbSession, runtime: RuntimeDep, request: Request
) -> ChannelInboxOut:
    """Admins add an inbox; the provider is configured at once (502 when it refuses; nothing stored)."""
    keyring = keyring_from_settings(runtime.settings)
    inbox = await do_create_channel_inbox(
        session, actor, body, keyring=keyring, adapters=runtime.channel_adapters, ip=client_ip(request)
    )
    return inbox_out(inbox, keyring)


@router.patch("/{inbox_id}", response_model=ChannelInboxOut)
async def update_channel_inbox(
    inbox_id: uuid.UUID,
    body: ChannelInboxChange,
    actor: Admin,
    session: DbSession,
    runtime: RuntimeDep,
    request: Request,
) -> ChannelInboxOut:
    """Admins change the name, team, settings, credentials (merged by name) or switch it off."""
    keyring = keyring_from_settings(runtime.settings)
    inbox = await get_channel_inbox(session, inbox_id)
    await do_update_channel_inbox(
        session, actor, inbox, body, keyring=keyring, adapters=runtime.channel_adapters, ip=client_ip(request)
    )
    return inbox_out(inbox, keyring)
