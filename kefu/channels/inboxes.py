"""Inboxes of the social and phone channels: admins add a Telegram bot, a Messenger page, an X account
or a phone line, with its settings and sealed credentials; the adapter is then told (e.g. setWebhook)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Final

import structlog
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor
from kefu.channels.adapter import ChannelAdapter
from kefu.channels.credentials import channel_inbox, open_secrets, seal_secrets
from kefu.channels.ingest import IDENTITY_OF
from kefu.conversations.create import check_team
from kefu.conversations.schemas import refuse_nul
from kefu.core.errors import Conflict, KefuError, NotFound
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.storage.envelope import Keyring

log = structlog.get_logger(__name__)

SOCIAL_CHANNELS: Final = frozenset(IDENTITY_OF)
SecretName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
SecretValue = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ChannelConfigFailed(KefuError):
    """The provider refused or did not answer while the inbox was being set up there."""

    code = "channel_config_failed"
    status = 502


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _no_nul = field_validator("*", mode="before")(refuse_nul)


class ChannelInboxIn(_Input):
    channel: ChannelKind
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    # The bot's @username, the page id, the X account, the phone number: shown to agents.
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    team_id: uuid.UUID | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[SecretName, SecretValue] = Field(default_factory=dict, max_length=20)


class ChannelInboxChange(_Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    team_id: uuid.UUID | None = None
    config: dict[str, Any] | None = None
    # Replaces the named secrets only; the others stay.
    secrets: dict[SecretName, SecretValue] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class ChannelInboxOut(BaseModel):
    id: uuid.UUID
    channel: ChannelKind
    name: str
    address: str
    team_id: uuid.UUID | None
    is_active: bool
    config: dict[str, Any]
    # Which credentials are set; their values never leave Kefu.
    secret_names: list[str]


def inbox_out(inbox: Inbox, keyring: Keyring) -> ChannelInboxOut:
    return ChannelInboxOut(
        id=inbox.id,
        channel=ChannelKind(inbox.channel),
        name=inbox.name,
        address=inbox.address,
        team_id=inbox.team_id,
        is_active=inbox.is_active,
        config=dict(inbox.config or {}),
        secret_names=sorted(open_secrets(keyring, inbox)),
    )


async def list_channel_inboxes(session: AsyncSession) -> list[Inbox]:
    """Every social and phone inbox, by channel and name."""
    rows = await session.scalars(
        select(Inbox).where(Inbox.channel.in_(SOCIAL_CHANNELS)).order_by(Inbox.channel, Inbox.name)
    )
    return list(rows)


async def get_channel_inbox(session: AsyncSession, inbox_id: uuid.UUID) -> Inbox:
    inbox = await session.get(Inbox, inbox_id, with_for_update=True)
    if inbox is None or inbox.channel not in SOCIAL_CHANNELS:
        raise NotFound("no such channel inbox")
    return inbox


async def _configure(adapters: Mapping[ChannelKind, ChannelAdapter], keyring: Keyring, inbox: Inbox) -> None:
    adapter = adapters.get(ChannelKind(inbox.channel))
    if adapter is None or not inbox.is_active:
        return
    try:
        await adapter.configure(channel_inbox(keyring, inbox))
    except KefuError:
        raise
    except Exception as exc:  # noqa: BLE001 - any provider failure is one answer to the admin
        # The exception may quote a URL holding a token: only its type is logged.
        log.warning("channel_configure_failed", inbox_id=str(inbox.id), error=type(exc).__name__)
        raise ChannelConfigFailed(
            "the provider did not accept the configuration; check the credentials"
        ) from None


async def do_create_channel_inbox(
    session: AsyncSession,
    actor: AgentActor,
    data: ChannelInboxIn,
    *,
    keyring: Keyring,
    adapters: Mapping[ChannelKind, ChannelAdapter],
    ip: str | None = None,
) -> Inbox:
    """Add an inbox; the adapter is told before the caller commits (a refusal stores nothing)."""
    if data.channel not in SOCIAL_CHANNELS:
        raise NotFound("this channel has no adapter inboxes")
    await check_team(session, data.team_id)
    taken = await session.scalar(
        select(Inbox.id).where(Inbox.channel == data.channel, Inbox.address == data.address)
    )
    if taken is not None:
        raise Conflict("an inbox with this address exists for the channel")
    inbox = Inbox(
        id=uuid.uuid4(),
        name=data.name,
        channel=data.channel,
        address=data.address,
        team_id=data.team_id,
        config=dict(data.config),
    )
    seal_secrets(keyring, inbox, data.secrets)
    session.add(inbox)
    await session.flush()
    await _configure(adapters, keyring, inbox)
    await record_audit(
        session,
        action="channel_inbox.created",
        actor=actor,
        target_type="inbox",
        target_id=str(inbox.id),
        ip=ip,
        details={"channel": str(inbox.channel), "credentials": sorted(data.secrets)},
    )
    return inbox


async def do_update_channel_inbox(
    session: AsyncSession,
    actor: AgentActor,
    inbox: Inbox,
    change: ChannelInboxChange,
    *,
    keyring: Keyring,
    adapters: Mapping[ChannelKind, ChannelAdapter],
    ip: str | None = None,
) -> Inbox:
    """Change an inbox; the adapter is told again when settings, credentials or activity changed."""
    changed = change.model_dump(exclude_unset=True)
    if "team_id" in changed:
        await check_team(session, change.team_id)
        inbox.team_id = change.team_id
    if change.name is not None:
        inbox.name = change.name
    if change.config is not None:
        inbox.config = dict(change.config)
    if change.secrets:
        seal_secrets(keyring, inbox, {**open_secrets(keyring, inbox), **change.secrets})
    if change.is_active is not None:
        inbox.is_active = change.is_active
    if {"config", "secrets", "is_active"} & set(changed):
        await _configure(adapters, keyring, inbox)
    await record_audit(
        session,
        action="channel_inbox.updated",
        actor=actor,
        target_type="inbox",
        target_id=str(inbox.id),
        ip=ip,
        details={"fields": sorted(changed), "credentials": sorted(change.secrets or {})},
    )
    return inbox
