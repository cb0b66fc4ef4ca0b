"""One contract for every PubSub backend: the in-memory fake must behave like Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from kefu.pubsub.base import Message, PubSub, Subscription
from kefu.pubsub.memory import MemoryPubSub
from kefu.pubsub.redis import RedisPubSub

WAIT = 3.0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pubsub(request: pytest.FixtureRequest) -> AsyncIterator[PubSub]:
    backend: PubSub
    if request.param == "redis":
        backend = RedisPubSub(request.getfixturevalue("redis_url"))
    else:
        backend = MemoryPubSub()
    yield backend
    await backend.close()


@pytest.fixture
def prefix() -> str:
    """Channels unique to this test, so tests sharing a Redis never see each other's messages."""
    return f"test:{uuid.uuid4().hex}:"


async def receive(subscription: Subscription) -> Message:
    async with asyncio.timeout(WAIT):
        return await anext(subscription)


async def test_subscriber_receives_messages_on_its_channels_only(pubsub: PubSub, prefix: str) -> None:
    async with pubsub.subscribe(prefix + "a", prefix + "b") as sub:
        await pubsub.publish(prefix + "other", b"not for us")
        await pubsub.publish(prefix + "a", b"one")
        await pubsub.publish(prefix + "b", b"two")
        assert await receive(sub) == (prefix + "a", b"one")
        assert await receive(sub) == (prefix + "b", b"two")
        assert sub.channels == (prefix + "a", prefix + "b")
        assert not sub.overflowed


async def test_every_subscriber_gets_every_message_in_order(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "fan"
    async with pubsub.subscribe(channel) as first, pubsub.subscribe(channel) as second:
        for n in range(20):
            await pubsub.publish(channel, str(n).encode())
        for sub in (first, second):
            assert [(await receive(sub))[1] for _ in range(20)] == [str(n).encode() for n in range(20)]


async def test_messages_published_before_subscribing_are_not_delivered(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "late"
    await pubsub.publish(channel, b"too early")
    async with pubsub.subscribe(channel) as sub:
        await pubsub.publish(channel, b"in time")
        assert await receive(sub) == (channel, b"in time")


async def test_arbitrary_bytes_round_trip(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "bin"
    payloads = [b"", b"\x00\xff\xfe not utf-8", "客服".encode(), bytes(range(256)) * 64]
    async with pubsub.subscribe(channel) as sub:
        for payload in payloads:
            await pubsub.publish(channel, payload)
        assert [(await receive(sub))[1] for _ in payloads] == payloads


async def test_leaving_one_subscription_keeps_the_others(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "shared"
    async with pubsub.subscribe(channel) as staying:
        async with pubsub.subscribe(channel) as leaving:
            await pubsub.publish(channel, b"both")
            assert await receive(leaving) == (channel, b"both")
        await pubsub.publish(channel, b"after")
        assert await receive(staying) == (channel, b"both")
        assert await receive(staying) == (channel, b"after")
    # Every local subscriber left; a new one must be subscribed afresh.
    async with pubsub.subscribe(channel) as again:
        await pubsub.publish(channel, b"again")
        assert await receive(again) == (channel, b"again")


async def test_close_ends_subscriptions_and_refuses_more_work(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "closing"
    await pubsub.ping()
    async with pubsub.subscribe(channel) as sub:
        await pubsub.publish(channel, b"last")
        assert await receive(sub) == (channel, b"last")
        await pubsub.close()
        with pytest.raises(StopAsyncIteration):
            await receive(sub)
    with pytest.raises(RuntimeError):
        await pubsub.publish(channel, b"x")
    with pytest.raises(RuntimeError):
        await pubsub.ping()
    with pytest.raises(RuntimeError):
        async with pubsub.subscribe(channel):
            pass
    await pubsub.close()  # idempotent


async def test_malformed_calls_are_refused(pubsub: PubSub, prefix: str) -> None:
    with pytest.raises(ValueError):
        pubsub.subscribe()
    with pytest.raises(ValueError):
        pubsub.subscribe("")
    with pytest.raises(ValueError):
        await pubsub.publish("", b"x")
    with pytest.raises(TypeError):
        await pubsub.publish(prefix + "c", "text is not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await pubsub.publish(prefix + "c", 5)  # type: ignore[arg-type]
    sub = pubsub.subscribe(prefix + "c")
    with pytest.raises(RuntimeError):
        await anext(sub)
    async with sub:
        with pytest.raises(RuntimeError):
            async with sub:
                pass


async def test_duplicate_channels_deliver_once(pubsub: PubSub, prefix: str) -> None:
    channel = prefix + "dup"
    async with pubsub.subscribe(channel, channel) as sub:
        await pubsub.publish(channel, b"once")
        await pubsub.publish(channel, b"marker")
        assert await receive(sub) == (channel, b"once")
        assert await receive(sub) == (channel, b"marker")
