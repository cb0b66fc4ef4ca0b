"""Fixtures: the X API stand-in served over HTTP, an adapter pointed at it, an X inbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from kefu.channels.credentials import seal_secrets
from kefu.channels.x.adapter import XAdapter
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.trust.keys import keyring_from_settings
from tests.channels.x.payloads import CONSUMER_SECRET
from tests.channels.x.standin import SUPPORT_ID, USER_TOKEN, XStandIn, x_standin
from tests.conftest import TEST_SECRET


@pytest.fixture
async def xapi() -> AsyncIterator[XStandIn]:
    async with x_standin() as standin:
        yield standin


@pytest.fixture
async def adapter(xapi: XStandIn, tmp_path: Path) -> AsyncIterator[XAdapter]:
    settings = Settings(env="test", data_dir=tmp_path, secret_key=SecretStr(TEST_SECRET), x_api_url=xapi.url)
    built = XAdapter(settings, clock=lambda: 1_700_000_000.0)
    yield built
    await built.aclose()


async def make_x_inbox(runtime: Runtime, *, address: str = SUPPORT_ID, active: bool = True) -> Inbox:
    """A committed X inbox of a new team, with its credentials sealed."""
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name=f"Social {uuid.uuid4().hex[:6]}", slug=f"social-{uuid.uuid4().hex[:6]}")
        session.add(team)
        await session.flush()
        inbox = Inbox(
            name="@kefu_support", channel=ChannelKind.X, address=address, team_id=team.id, is_active=active
        )
        session.add(inbox)
        await session.flush()
        seal_secrets(
            keyring_from_settings(runtime.settings),
            inbox,
            {"consumer_secret": CONSUMER_SECRET, "access_token": USER_TOKEN},
        )
        return inbox


@pytest.fixture
async def inbox(runtime: Runtime, adapter: XAdapter) -> Inbox:
    runtime.channel_adapters[ChannelKind.X] = adapter
    return await make_x_inbox(runtime)
