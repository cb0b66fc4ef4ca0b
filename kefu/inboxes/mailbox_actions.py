"""Support mailboxes managed in the console: email inboxes admins add, route to a team, switch off.

Reads (`list_*`, `get_*`) and changes (`do_*`) of email `Inbox` rows. Changes never commit; each is
audited and drops the mailbox cache (`kefu.mail.mailboxes.MAILBOXES`) now and after the commit, so the
SMTP listener of this process accepts, refuses or re-routes mail at once (other processes within the
cache's few seconds).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.inboxes.schemas import MailboxCreate, MailboxOut, MailboxUpdate
from kefu.mail.mailboxes import MAILBOXES, configured_addresses
from kefu.settings import Settings

# Bounds the listing, the cache and the console page; real deployments have a handful.
MAX_MAILBOXES: Final = 200
RECENT: Final = timedelta(days=7)
_TARGET: Final = "mailbox"


@dataclass(frozen=True)
class ConfiguredMailbox:
    """An address from `KEFU_SUPPORT_ADDRESSES` (read-only in the console)."""

    address: str
    team_slug: str | None
    team_name: str | None
    # A console mailbox with the same address wins: its team routes the mail.
    overridden: bool


@dataclass(frozen=True)
class Removal:
    """What `do_delete_mailbox` did."""

    deleted: bool
    conversations: int


def _mailboxes() -> Select[Inbox]:
    return select(Inbox).where(Inbox.channel == ChannelKind.EMAIL)


async def recent_conversation_counts(
    session: AsyncSession, inbox_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Conversations opened through each inbox in the last seven days (absent: none)."""
    if not inbox_ids:
        return {}
    rows = await session.execute(
        select(Conversation.inbox_id, func.count())
        .where(Conversation.inbox_id.in_(inbox_ids), Conversation.created_at >= utcnow() - RECENT)
        .group_by(Conversation.inbox_id)
    )
    return {inbox_id: int(count) for inbox_id, count in rows if inbox_id is not None}


async def list_mailboxes(session: AsyncSession) -> list[MailboxOut]:
    """Every console mailbox (active or not) by address, with its recent conversations."""
    inboxes = list(await session.scalars(_mailboxes().order_by(Inbox.address, Inbox.id).limit(MAX_MAILBOXES)))
    counts = await recent_conversation_counts(session, [inbox.id for inbox in inboxes])
    return [mailbox_out(inbox, counts.get(inbox.id, 0)) for inbox in inboxes]


def mailbox_out(inbox: Inbox, recent: int) -> MailboxOut:
    """The API representation of an email inbox."""
    return MailboxOut(
        id=inbox.id,
        address=inbox.address,
        name=inbox.name,
        team_id=inbox.team_id,
        is_active=inbox.is_active,
        recent_conversations=recent,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


async def describe_mailbox(session: AsyncSession, inbox: Inbox) -> MailboxOut:
    """`mailbox_out` with the inbox's count of recent conversations looked up."""
    counts = await recent_conversation_counts(session, [inbox.id])
    return mailbox_out(inbox, counts.get(inbox.id, 0))


async def get_mailbox(session: AsyncSession, inbox_id: uuid.UUID) -> Inbox:
    """The email inbox `inbox_id`; NotFound for a missing id and for other channels' inboxes."""
    inbox = await session.scalar(_mailboxes().where(Inbox.id == inbox_id))
    if inbox is None:
        raise NotFound("no such mailbox")
    return inbox


async def list_configured_mailboxes(session: AsyncSession, settings: Settings) -> list[ConfiguredMailbox]:
    """The addresses `KEFU_SUPPORT_ADDRESSES` adds, with their team and whether the console overrides them."""
    configured = configured_addresses(settings)
    if not configured:
        return []
    teams = {team.slug: team.name for team in await session.scalars(select(Team))}
    console = {
        address.lower()
        for address in await session.scalars(
            select(Inbox.address).where(
                Inbox.channel == ChannelKind.EMAIL,
                Inbox.is_active.is_(True),
                func.lower(Inbox.address).in_(list(configured)),
            )
        )
    }
    return [
        ConfiguredMailbox(address, slug, teams.get(slug) if slug else None, address in console)
        for address, slug in sorted(configured.items())
    ]


async def _check_team(session: AsyncSession, team_id: uuid.UUID) -> None:
    if await session.get(Team, team_id) is None:
        raise InvalidInput("unknown team", fields={"team_id": "no such team"})


def _taken() -> Conflict:
    return Conflict(
        "a mailbox with this address exists (reactivate it instead)",
        fields={"address": "already a mailbox"},
    )


def _details(inbox: Inbox) -> dict[str, Any]:
    team = str(inbox.team_id) if inbox.team_id else None
    return {"address": inbox.address, "name": inbox.name, "team_id": team, "active": inbox.is_active}


async def do_create_mailbox(
    session: AsyncSession, actor: AgentActor, data: MailboxCreate, *, ip: str | None = None
) -> Inbox:
    """Add a support mailbox (admins; `data.address` is canonical already). Conflict when it exists,
    InvalidInput for an unknown team or past MAX_MAILBOXES; audited, the cache dropped after commit."""
    await _check_team(session, data.team_id)
    taken = await session.scalar(
        select(Inbox.id).where(Inbox.channel == ChannelKind.EMAIL, func.lower(Inbox.address) == data.address)
    )
    if taken is not None:
        raise _taken()
    count = await session.scalar(
        select(func.count()).select_from(Inbox).where(Inbox.channel == ChannelKind.EMAIL)
    )
    if (count or 0) >= MAX_MAILBOXES:
        raise InvalidInput(f"at most {MAX_MAILBOXES} mailboxes", fields={"address": "too many mailboxes"})
    inbox = Inbox(
        name=data.name,
        channel=ChannelKind.EMAIL,
        address=data.address,
        team_id=data.team_id,
        is_active=data.is_active,
    )
    session.add(inbox)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _taken() from None  # a concurrent request added the same address first
    await record_audit(
        session, action="mailbox.created", actor=actor, target_type=_TARGET, target_id=str(inbox.id),
        ip=ip, details=_details(inbox),
    )  # fmt: skip
    MAILBOXES.invalidate_after_commit(session)
    return inbox


async def do_update_mailbox(
    session: AsyncSession, actor: AgentActor, inbox: Inbox, changes: MailboxUpdate, *, ip: str | None = None
) -> Inbox:
    """Rename a mailbox, route it to another team or switch it on/off (null fields stay as they are).

    A switched-off mailbox refuses new mail at RCPT; its conversations stay as they are.
    """
    given = changes.model_dump(exclude_unset=True, exclude_none=True)
    if not given:
        return inbox  # nothing to change, nothing to audit
    if "team_id" in given:
        await _check_team(session, given["team_id"])
    for key, value in given.items():
        setattr(inbox, key, value)
    inbox.updated_at = utcnow()
    await session.flush()
    await record_audit(
        session, action="mailbox.updated", actor=actor, target_type=_TARGET, target_id=str(inbox.id),
        ip=ip, details=_details(inbox) | {"changed": sorted(given)},
    )  # fmt: skip
    MAILBOXES.invalidate_after_commit(session)
    return inbox


async def do_delete_mailbox(
    session: AsyncSession, actor: AgentActor, inbox: Inbox, *, ip: str | None = None
) -> Removal:
    """Remove a mailbox nobody wrote to; one with conversations is deactivated instead (they keep
    their inbox and team). Audited either way; the cache dropped after commit."""
    used = int(
        await session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.inbox_id == inbox.id)
        )
        or 0
    )
    details = _details(inbox) | {"conversation_count": used}
    target = str(inbox.id)
    if used:
        inbox.is_active = False
        inbox.updated_at = utcnow()
        await session.flush()
        action = "mailbox.deactivated"
    else:
        await session.delete(inbox)
        await session.flush()
        action = "mailbox.deleted"
    await record_audit(
        session, action=action, actor=actor, target_type=_TARGET, target_id=target, ip=ip, details=details
    )
    MAILBOXES.invalidate_after_commit(session)
    return Removal(deleted=not used, conversations=used)
