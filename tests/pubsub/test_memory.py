"""Behaviour specific to the in-process backend: slow consumers never hold up publishers."""

from __future__ import annotations

import asyncio

import pytest

from kefu.pubsub.base import SubscriptionLost, SubscriptionOverflow
from kefu.pubsub.memory import MemoryPubSub


async def test_slow_subscriber_is_dropped_and_told_so() -> None:
    pubsub = MemoryPubSub(max_pending=3)
    async with pubsub.subscribe("c") as slow, pubsub.subscribe("c") as fast:
        received = []
        for n in range(5):
            await pubsub.publish("c", bytes([n]))
            received.append(await anext(fast))
        assert slow.overflowed
        assert not fast.overflowed
        # Messages before the gap are still delivered, then the gap is reported.
        assert [await anext(slow) for _ in range(3)] == [("c", bytes([n])) for n in range(3)]
        with pytest.raises(SubscriptionOverflow) as raised:
            await anext(slow)
        assert isinstance(raised.value, SubscriptionLost)
        assert [m[1] for m in received] == [bytes([n]) for n in range(5)]
        # The dropped subscriber gets nothing more; the others carry on.
        await pubsub.publish("c", b"later")
        assert await anext(fast) == ("c", b"later")
        with pytest.raises(SubscriptionOverflow):
            await anext(slow)
    await pubsub.close()


async def test_publish_never_waits_for_subscribers() -> None:
    pubsub = MemoryPubSub(max_pending=10)
    async with pubsub.subscribe("c"):
        async with asyncio.timeout(1):
            for _ in range(10_000):
                await pubsub.publish("c", b"x")
    await pubsub.close()


async def test_waiting_subscriber_wakes_on_publish() -> None:
    pubsub = MemoryPubSub()
    async with pubsub.subscribe("c") as sub:
        waiter = asyncio.create_task(anext(sub))
        await asyncio.sleep(0)
        assert not waiter.done()
        await pubsub.publish("c", b"hello")
        async with asyncio.timeout(1):
            assert await waiter == ("c", b"hello")
    await pubsub.close()


def test_max_pending_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemoryPubSub(max_pending=0)
