"""Fixtures: the Graph stand-in served over HTTP, an adapter pointed at it, a Messenger inbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from kefu.channels.credentials import seal_secrets
from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.trust.keys import keyring_from_settings
from tests.channels.messenger.payloads import APP_SECRET, PAGE_ID, VERIFY_TOKEN
from tests.channels.messenger.standin import PAGE_TOKEN, GraphStandIn, graph_standin
from tests.conftest import TEST_SECRET


@pytest.fixture
async def graph() -> AsyncIterator[GraphStandIn]:
    async with graph_standin() as standin:
        yield standin


@pytest.fixture
async def adapter(graph: GraphStandIn, tmp_path: Path) -> AsyncIterator[MessengerAdapter]:
    # Its own settings (not the database-bound fixture): adapter tests need no database.
    built = MessengerAdapter(
        Settings(
            env="test", data_dir=tmp_path, secret_key=SecretStr(TEST_SECRET), meta_graph_url=graph.graph_url
        )
    )
    yield built
    await built.aclose()


async def make_messenger_inbox(
    runtime: Runtime,
    *,
    address: str = PAGE_ID,
    active: bool = True,
    channel: ChannelKind = ChannelKind.MESSENGER,
) -> Inbox:
    """A committed Messenger inbox of a new team, with the three credentials sealed."""
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name=f"Social {uuid.uuid4().hex[:6]}", slug=f"social-{uuid.uuid4().hex[:6]}")
        session.add(team)
        await session.flush()
        inbox = Inbox(
            name="Facebook page", channel=channel, address=address, team_id=team.id, is_active=active
        )
        session.add(inbox)
        await session.flush()
        seal_secrets(
            keyring_from_settings(runtime.settings),
            inbox,
            {"page_access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
        )
        return inbox


@pytest.fixture
async def inbox(runtime: Runtime, adapter: MessengerAdapter) -> Inbox:
    runtime.channel_adapters[ChannelKind.MESSENGER] = adapter
    return await make_messenger_inbox(runtime)
