"""Support mailboxes (email inboxes): administrators add, route, switch off and remove them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from kefu.inboxes.mailbox_actions import (
    describe_mailbox,
    do_create_mailbox,
    do_delete_mailbox,
    do_update_mailbox,
    get_mailbox,
    list_mailboxes,
    mailbox_out,
)
from kefu.inboxes.schemas import MailboxCreate, MailboxOut, MailboxRemoved, MailboxUpdate
from kefu.web.deps import Admin, DbSession, client_ip

router = APIRouter(prefix="/mailboxes", tags=["mailboxes"])


@router.get("", response_model=list[MailboxOut])
async def mailboxes(actor: Admin, session: DbSession) -> list[MailboxOut]:
    """Admins: every console mailbox by address, with its conversations of the last seven days."""
    del actor
    return await list_mailboxes(session)


@router.get("/{mailbox_id}", response_model=MailboxOut)
async def mailbox(mailbox_id: uuid.UUID, actor: Admin, session: DbSession) -> MailboxOut:
    """Admins: one mailbox (404 when unknown or not an email inbox)."""
    del actor
    return await describe_mailbox(session, await get_mailbox(session, mailbox_id))


@router.post("", status_code=201, response_model=MailboxOut)
async def create_mailbox(
    body: MailboxCreate, actor: Admin, session: DbSession, request: Request
) -> MailboxOut:
    """Admins add a mailbox; 409 when the address is one already, 422 for an unknown team."""
    inbox = await do_create_mailbox(session, actor, body, ip=client_ip(request))
    return mailbox_out(inbox, 0)


@router.patch("/{mailbox_id}", response_model=MailboxOut)
async def update_mailbox(
    mailbox_id: uuid.UUID, body: MailboxUpdate, actor: Admin, session: DbSession, request: Request
) -> MailboxOut:
    """Admins rename a mailbox, route it to another team or switch it on or off."""
    inbox = await get_mailbox(session, mailbox_id)
    await do_update_mailbox(session, actor, inbox, body, ip=client_ip(request))
    return await describe_mailbox(session, inbox)


@router.delete("/{mailbox_id}", response_model=MailboxRemoved)
async def delete_mailbox(
    mailbox_id: uuid.UUID, actor: Admin, session: DbSession, request: Request
) -> MailboxRemoved:
    """Admins remove a mailbox; one with conversations is deactivated instead (`outcome` says which)."""
    inbox = await get_mailbox(session, mailbox_id)
    removal = await do_delete_mailbox(session, actor, inbox, ip=client_ip(request))
    if removal.deleted:
        return MailboxRemoved(outcome="deleted", conversations=0, mailbox=None)
    return MailboxRemoved(
        outcome="deactivated",
        conversations=removal.conversations,
        mailbox=await describe_mailbox(session, inbox),
    )
