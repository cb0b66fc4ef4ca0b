"""The registry in storage (SQLite and PostgreSQL): canonical uniqueness, audit records, reads, demo."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.channels.actions import do_create_channel, do_delete_channel
from kefu.channels.demo import load_demo_channels
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.schemas import ChannelIn
from kefu.channels.service import find_channel, list_channels, list_published
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.db.uow import transaction
from kefu.inboxes.models import Team
from tests.conftest import Database


async def test_create_stores_the_canonical_value_and_audits(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        channel = await do_create_channel(
            session,
            None,
            ChannelIn(kind=OfficialKind.TELEGRAM, value="https://t.me/KefuSupport", label="Telegram"),
        )
        channel_id = channel.id
    async with db.sessionmaker() as session:
        stored = await session.get(OfficialChannel, channel_id)
        assert stored is not None
        assert (stored.kind, stored.value, stored.published_on_contact_page) == (
            "telegram",
            "kefusupport",
            True,
        )
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(channel_id)))
        )
        assert [e.action for e in events] == ["official_channel.created"]
        assert events[0].details == {"kind": "telegram", "value": "kefusupport", "label": "Telegram"}


async def test_the_same_channel_spelled_differently_conflicts(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        await do_create_channel(session, None, ChannelIn(kind=OfficialKind.PHONE, value="+65 6123 4567"))
    async with db.sessionmaker() as session:
        with pytest.raises(Conflict):
            await do_create_channel(session, None, ChannelIn(kind=OfficialKind.PHONE, value="0065-6123-4567"))
    # The same value under another kind is a different channel.
    async with transaction(db.sessionmaker) as session:
        await do_create_channel(session, None, ChannelIn(kind=OfficialKind.X, value="@KefuSupport"))
        await do_create_channel(session, None, ChannelIn(kind=OfficialKind.TELEGRAM, value="@KefuSupport"))
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OfficialChannel)) == 3


async def test_an_unknown_team_is_refused(db: Database) -> None:
    async with db.sessionmaker() as session:
        with pytest.raises(InvalidInput):
            await do_create_channel(
                session, None, ChannelIn(kind=OfficialKind.PHONE, value="+6561234567", team_id=uuid.uuid4())
            )


async def test_delete_removes_and_audits_and_unknown_ids_are_not_found(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        channel = await do_create_channel(
            session, None, ChannelIn(kind=OfficialKind.DOMAIN, value="kefu.localhost")
        )
        channel_id = channel.id
    async with transaction(db.sessionmaker) as session:
        await do_delete_channel(session, None, channel_id)
    async with transaction(db.sessionmaker) as session:
        assert await session.get(OfficialChannel, channel_id) is None
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target_id == str(channel_id))
                .order_by(AuditEvent.occurred_at)
            )
        )
        assert sorted(actions) == ["official_channel.created", "official_channel.deleted"]
        with pytest.raises(NotFound):
            await do_delete_channel(session, None, channel_id)


async def test_reads_filter_by_kind_and_publication_in_display_order(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        for value, position, published in (
            ("b@kefu.localhost", 2, True),
            ("a@kefu.localhost", 1, True),
            ("hidden@kefu.localhost", 0, False),
        ):
            await do_create_channel(
                session,
                None,
                ChannelIn(
                    kind=OfficialKind.EMAIL,
                    value=value,
                    position=position,
                    published_on_contact_page=published,
                ),
            )
        await do_create_channel(session, None, ChannelIn(kind=OfficialKind.DOMAIN, value="kefu.localhost"))
    async with db.sessionmaker() as session:
        emails = await list_channels(session, kind=OfficialKind.EMAIL)
        assert [c.value for c in emails] == ["hidden@kefu.localhost", "a@kefu.localhost", "b@kefu.localhost"]
        assert len(await list_channels(session)) == 4
        shown = await list_published(session)
        assert [c.value for c in shown] == ["kefu.localhost", "a@kefu.localhost", "b@kefu.localhost"]
        assert await find_channel(session, OfficialKind.EMAIL, "a@kefu.localhost") is not None
        assert await find_channel(session, OfficialKind.DOMAIN, "a@kefu.localhost") is None


async def test_demo_channels_load_once_and_follow_the_demo_teams(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        session.add_all([Team(name="General support", slug="general"), Team(name="Funds", slug="funds")])
    for _ in range(2):
        async with transaction(db.sessionmaker) as session:
            await load_demo_channels(session)
    async with db.sessionmaker() as session:
        rows = await list_channels(session)
        assert len(rows) == 9
        values = {(c.kind, c.value) for c in rows}
        assert ("email", "support@kefu.localhost") in values
        assert ("email", "security@kefu.localhost") in values
        assert ("domain", "kefu.localhost") in values
        assert {("telegram", "kefusupport"), ("x", "kefusupport"), ("facebook", "kefusupport")} <= values
        phones = {c.region: c for c in rows if c.kind == OfficialKind.PHONE}
        assert set(phones) == {"SG", "HK", "GB"}
        funds = await session.scalar(select(Team.id).where(Team.slug == "funds"))
        assert phones["HK"].team_id == funds
        assert all(c.team_id is not None for c in phones.values())
        assert phones["SG"].label_zh == "新加坡热线"
