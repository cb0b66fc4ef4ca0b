"""The ChannelAdapter contract, run the same way for every adapter and the in-memory fake: a reply is
delivered with the provider's ids, a repeated idempotency key sends nothing more, a rate limit becomes
RetryAfter, a permanent refusal becomes DeliveryRefused. Real adapters talk to their local stand-ins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from kefu.channels.adapter import ChannelAdapter, ChannelInbox, DeliveryRefused, OutboundMessage
from kefu.channels.memory import MemoryAdapter
from kefu.channels.messenger.adapter import MessengerAdapter
from kefu.channels.telegram.adapter import TelegramAdapter
from kefu.channels.telegram.api import BotApi
from kefu.channels.telegram.pacing import SendPacer
from kefu.channels.x.adapter import XAdapter
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from kefu.settings import Settings
from tests.channels.messenger.standin import PAGE_TOKEN, graph_standin
from tests.channels.telegram.standin import TOKEN, StandIn, rate_limited, running
from tests.channels.x.standin import USER_TOKEN, x_standin
from tests.conftest import TEST_SECRET

NOW = 1_700_000_000.0


@dataclass
class Provider:
    """One adapter under test, and the knobs of the provider behind it."""

    adapter: ChannelAdapter
    inbox: ChannelInbox
    recipient: str
    calls: Callable[[], int]
    throttle: Callable[[], None]
    refuse: Callable[[], None]


def _inbox(channel: ChannelKind, secrets: dict[str, str]) -> ChannelInbox:
    return ChannelInbox(id=uuid.uuid4(), channel=channel, address="support", config={}, secrets=secrets)


async def _no_sleep(seconds: float) -> None:
    return None


@asynccontextmanager
async def memory(_tmp: Path) -> AsyncIterator[Provider]:
    adapter = MemoryAdapter(ChannelKind.TELEGRAM)

    def throttle() -> None:
        adapter.throttle = 30

    def refuse() -> None:
        adapter.refuse = "blocked"

    yield Provider(
        adapter, _inbox(ChannelKind.TELEGRAM, {}), "42", lambda: len(adapter.sent), throttle, refuse
    )


@asynccontextmanager
async def telegram(tmp: Path) -> AsyncIterator[Provider]:
    async with running(StandIn()) as standin:
        settings = Settings(
            env="test", data_dir=tmp, secret_key=SecretStr(TEST_SECRET), telegram_api_url=standin.url
        )
        adapter = TelegramAdapter(
            settings, api=BotApi(standin.url, timeout=5.0, sleep=_no_sleep), pacer=SendPacer(max_wait=5.0)
        )

        def throttle() -> None:
            for _ in range(3):
                standin.fail("sendMessage", *rate_limited(30))

        def refuse() -> None:
            body = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            standin.fail("sendMessage", 403, body)

        inbox = _inbox(ChannelKind.TELEGRAM, {"bot_token": TOKEN})
        try:
            yield Provider(
                adapter, inbox, "777000", lambda: len(standin.sent("sendMessage")), throttle, refuse
            )
        finally:
            await adapter.aclose()


@asynccontextmanager
async def messenger(tmp: Path) -> AsyncIterator[Provider]:
    async with graph_standin() as graph:
        settings = Settings(
            env="test", data_dir=tmp, secret_key=SecretStr(TEST_SECRET), meta_graph_url=graph.graph_url
        )
        adapter = MessengerAdapter(settings)
        inbox = _inbox(
            ChannelKind.MESSENGER,
            {"page_access_token": PAGE_TOKEN, "app_secret": "app-secret", "verify_token": "verify"},
        )
        try:
            yield Provider(
                adapter,
                inbox,
                "6543210987654321",
                lambda: len(graph.calls),
                lambda: graph.fail(429, 613, "Calls to this api have exceeded the rate limit."),
                lambda: graph.fail(400, 551, "This person isn't available right now."),
            )
        finally:
            await adapter.aclose()


@asynccontextmanager
async def x(tmp: Path) -> AsyncIterator[Provider]:
    async with x_standin() as standin:
        settings = Settings(
            env="test", data_dir=tmp, secret_key=SecretStr(TEST_SECRET), x_api_url=standin.url
        )
        adapter = XAdapter(settings, clock=lambda: NOW)
        inbox = _inbox(ChannelKind.X, {"access_token": USER_TOKEN, "consumer_secret": "consumer"})
        reset = {"x-rate-limit-reset": str(int(NOW) + 30)}
        try:
            yield Provider(
                adapter,
                inbox,
                "2244994945",
                lambda: len(standin.calls),
                lambda: standin.fail(429, "Too Many Requests", reset),
                lambda: standin.fail(403, "You are not allowed to send a message to this user."),
            )
        finally:
            await adapter.aclose()


PROVIDERS = pytest.mark.parametrize(
    "make", [memory, telegram, messenger, x], ids=["memory", "telegram", "messenger", "x"]
)


@PROVIDERS
async def test_a_reply_is_delivered_once_per_idempotency_key(
    make: Callable[..., object], tmp_path: Path
) -> None:
    async with make(tmp_path) as provider:  # type: ignore[attr-defined]
        reply = OutboundMessage(text="Your deposit is credited.")
        first = await provider.adapter.send(
            provider.inbox, provider.recipient, reply, idempotency_key="job-1"
        )
        assert first.external_ids
        assert provider.calls() == 1
        again = await provider.adapter.send(
            provider.inbox, provider.recipient, reply, idempotency_key="job-1"
        )
        assert again.external_ids == first.external_ids
        assert provider.calls() == 1  # the retry of a job that already sent sends nothing
        await provider.adapter.send(provider.inbox, provider.recipient, reply, idempotency_key="job-2")
        assert provider.calls() == 2


@PROVIDERS
async def test_a_rate_limit_asks_the_outbox_to_wait(make: Callable[..., object], tmp_path: Path) -> None:
    async with make(tmp_path) as provider:  # type: ignore[attr-defined]
        provider.throttle()
        with pytest.raises(RetryAfter) as waited:
            await provider.adapter.send(
                provider.inbox, provider.recipient, OutboundMessage(text="hello"), idempotency_key="job-3"
            )
        assert waited.value.seconds >= 1


@PROVIDERS
async def test_a_permanent_refusal_is_not_retried(make: Callable[..., object], tmp_path: Path) -> None:
    async with make(tmp_path) as provider:  # type: ignore[attr-defined]
        provider.refuse()
        with pytest.raises(DeliveryRefused) as refused:
            await provider.adapter.send(
                provider.inbox, provider.recipient, OutboundMessage(text="hello"), idempotency_key="job-4"
            )
        assert refused.value.code
