"""Behaviour specific to Redis: one shared connection, and a lost connection is reported."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio

from kefu.pubsub.base import SubscriptionLost
from kefu.pubsub.redis import RedisPubSub

pytestmark = pytest.mark.redis


async def _kill_connections(url: str, name: str) -> int:
    admin = redis.asyncio.Redis.from_url(url)
    try:
        killed = 0
        for client in await admin.client_list():
            if client["name"] == name:
                killed += await admin.client_kill_filter(_id=client["id"])
        return killed
    finally:
        await admin.aclose()


async def test_lost_connection_ends_subscriptions_then_recovers(redis_url: str) -> None:
    name = f"kefu-test-{uuid.uuid4().hex[:8]}"
    channel = f"test:{uuid.uuid4().hex}"
    pubsub = RedisPubSub(redis_url, client_name=name)
    try:
        async with pubsub.subscribe(channel) as sub:
            await pubsub.publish(channel, b"before")
            async with asyncio.timeout(3):
                assert await anext(sub) == (channel, b"before")
            assert await _kill_connections(redis_url, name) >= 1
            with pytest.raises(SubscriptionLost):
                async with asyncio.timeout(3):
                    await anext(sub)
        async with pubsub.subscribe(channel) as again:
            await pubsub.publish(channel, b"after")
            async with asyncio.timeout(3):
                assert await anext(again) == (channel, b"after")
    finally:
        await pubsub.close()


async def test_subscriptions_share_one_redis_connection(redis_url: str) -> None:
    name = f"kefu-test-{uuid.uuid4().hex[:8]}"
    prefix = f"test:{uuid.uuid4().hex}:"
    pubsub = RedisPubSub(redis_url, client_name=name)
    admin = redis.asyncio.Redis.from_url(redis_url)
    try:
        async with pubsub.subscribe(prefix + "a") as a, pubsub.subscribe(prefix + "b") as b:
            await pubsub.publish(prefix + "a", b"1")
            await pubsub.publish(prefix + "b", b"2")
            async with asyncio.timeout(3):
                assert await anext(a) == (prefix + "a", b"1")
                assert await anext(b) == (prefix + "b", b"2")
            mine = [c for c in await admin.client_list() if c["name"] == name]
            assert sum(1 for c in mine if c["flags"] == "P") == 1
    finally:
        await admin.aclose()
        await pubsub.close()
