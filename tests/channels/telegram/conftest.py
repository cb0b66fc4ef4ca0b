"""Fixtures of the Telegram tests: the stand-in Bot API on a real port, and an adapter aimed at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from kefu.channels.credentials import seal_secrets
from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.channels.telegram.api import BotApi
from kefu.channels.telegram.pacing import SendPacer
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.trust.keys import keyring_from_settings
from tests.channels.telegram.standin import TOKEN, StandIn, running


class Sleeps:
    """Records the waits the client would have slept, without sleeping."""

    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with running(StandIn()) as served:
        yield served


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_adapter(settings: Settings, url: str, sleeps: Sleeps) -> TelegramAdapter:
    """An adapter speaking to the stand-in at `url`, with recorded (not slept) waits."""
    aimed = settings.model_copy(update={"telegram_api_url": url})
    return TelegramAdapter(aimed, api=BotApi(url, timeout=5.0, sleep=sleeps), pacer=SendPacer(max_wait=5.0))


@pytest.fixture
async def plain_adapter(standin: StandIn, sleeps: Sleeps, tmp_path: object) -> AsyncIterator[TelegramAdapter]:
    """An adapter for tests that need no database."""
    settings = Settings(env="test", base_url="https://support.example.com", data_dir=tmp_path)
    adapter = make_adapter(settings, standin.url, sleeps)
    yield adapter
    await adapter.aclose()


WEBHOOK_SECRET = "webhook-secret-0123456789abcdef"


async def telegram_inbox(
    runtime: Runtime,
    *,
    config: dict[str, object] | None = None,
    secrets: dict[str, str] | None = None,
    channel: ChannelKind = ChannelKind.TELEGRAM,
    active: bool = True,
) -> Inbox:
    """A committed inbox with a team and sealed Telegram credentials."""
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name=f"Telegram {uuid.uuid4().hex[:6]}", slug=f"tg-{uuid.uuid4().hex[:6]}")
        session.add(team)
        await session.flush()
        inbox = Inbox(
            id=uuid.uuid4(),
            name="Support bot",
            channel=channel,
            address=f"@bot_{uuid.uuid4().hex[:6]}",
            team_id=team.id,
            config=config or {},
            is_active=active,
        )
        seal_secrets(
            keyring_from_settings(runtime.settings),
            inbox,
            {"bot_token": TOKEN, "webhook_secret": WEBHOOK_SECRET} if secrets is None else secrets,
        )
        session.add(inbox)
        return inbox


@pytest.fixture
async def adapter(runtime: Runtime, standin: StandIn, sleeps: Sleeps) -> AsyncIterator[TelegramAdapter]:
    """The runtime's Telegram adapter, aimed at the stand-in."""
    built = make_adapter(runtime.settings, standin.url, sleeps)
    runtime.channel_adapters[ChannelKind.TELEGRAM] = built
    yield built
    await built.aclose()
