"""Redis PubSub: every node shares one Redis, so a customer on node A reaches an agent on node B.

One SUBSCRIBE connection per process, multiplexed over local subscriptions (a gateway with thousands
of websockets must not hold thousands of Redis connections). When that connection breaks, messages
may have been missed, so every local subscription ends with `SubscriptionLost` and clients resync.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol, cast

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub as RedisClientPubSub
from redis.asyncio.retry import Retry
from redis.backoff import FullJitterBackoff, NoBackoff
from redis.exceptions import RedisError

from kefu.core.redis_clients import redis_client
from kefu.pubsub.base import SubscriptionLost
from kefu.pubsub.local import (
    DEFAULT_MAX_PENDING,
    Hub,
    LocalSubscription,
    check_channels,
    check_message,
)

log = structlog.get_logger(__name__)

SUBSCRIBE_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0


class _Closable(Protocol):
    # `aclose` exists since redis 5 but the bundled types-redis stubs predate it.
    async def aclose(self) -> None: ...


class RedisPubSub:
    """Publish through a pooled client; receive through one shared, non-retrying SUBSCRIBE connection."""

    def __init__(
        self, url: str, *, max_pending: int = DEFAULT_MAX_PENDING, client_name: str = "kefu-pubsub"
    ) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._max_pending = max_pending
        # The name makes our connections recognisable in CLIENT LIST. An idle pooled connection may
        # have been dropped by the server, so publishing retries a few times on a fresh one.
        self._publisher = redis_client(
            url, client_name=client_name, retry=Retry(FullJitterBackoff(cap=1.0, base=0.05), 3)
        )
        # No silent reconnect: redis-py would resubscribe but hide the gap from our subscribers.
        self._subscriber = Redis.from_url(url, client_name=client_name, retry=Retry(NoBackoff(), 0))
        self._hub = Hub()
        self._lock = asyncio.Lock()
        self._pubsub: RedisClientPubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._closed = False

    async def publish(self, channel: str, message: bytes) -> None:
        """PUBLISH to every node's subscribers of `channel`."""
        check_channels([channel])
        if self._closed:
            raise RuntimeError("publish on a closed PubSub")
        await self._publisher.publish(channel, check_message(message))

    def subscribe(self, *channels: str) -> LocalSubscription:
        """A subscription to `channels`; entering it waits until Redis confirms the SUBSCRIBE."""
        return LocalSubscription(self, check_channels(channels), self._max_pending)

    async def ping(self) -> None:
        """Raise unless Redis answers PING."""
        if self._closed:
            raise RuntimeError("PubSub is closed")
        await self._publisher.ping()

    async def close(self) -> None:
        """End every subscription and close both connections."""
        self._closed = True
        async with self._lock:
            await self._reset(None)
        await cast(_Closable, self._publisher).aclose()
        await cast(_Closable, self._subscriber).aclose()

    async def _attach(self, subscription: LocalSubscription) -> None:
        async with self._lock:
            if self._closed:
                raise RuntimeError("subscribe on a closed PubSub")
            new = self._hub.attach(subscription)
            if not new:
                return
            try:
                await self._subscribe_remote(new)
            except BaseException:
                self._hub.detach(subscription)
                raise

    async def _detach(self, subscription: LocalSubscription) -> None:
        async with self._lock:
            gone = self._hub.detach(subscription)
            if gone and self._pubsub is not None:
                # The reader notices a broken connection itself; leaving quietly is enough here.
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(*gone)

    async def _subscribe_remote(self, channels: list[str]) -> None:
        if self._pubsub is None:
            self._pubsub = self._subscriber.pubsub()
        loop = asyncio.get_running_loop()
        waits = {channel: loop.create_future() for channel in channels}
        self._confirmations.update(waits)
        try:
            await self._pubsub.subscribe(*channels)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(self._pubsub), name="kefu-redis-pubsub")
            # Messages published after subscribe() returns must arrive, so wait for the server's reply.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await asyncio.gather(*waits.values())
        finally:
            for channel, future in waits.items():
                if self._confirmations.get(channel) is future:
                    del self._confirmations[channel]

    async def _read(self, pubsub: RedisClientPubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:
            log.warning("redis_pubsub_connection_lost", error=type(exc).__name__)
            # Fail pending SUBSCRIBE waits first: their callers hold the lock we are about to take.
            for future in self._confirmations.values():
                if not future.done():
                    future.set_exception(SubscriptionLost("Redis pub/sub connection lost"))
            async with self._lock:
                if self._pubsub is pubsub:
                    await self._reset(SubscriptionLost("Redis pub/sub connection lost"), reader_done=True)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else ""
        if kind == "message":
            self._hub.deliver(channel, message["data"])
        elif kind == "subscribe":
            future = self._confirmations.get(channel)
            if future is not None and not future.done():
                future.set_result(None)

    async def _reset(self, error: SubscriptionLost | None, *, reader_done: bool = False) -> None:
        # Caller holds the lock. Subscriptions end first so nobody waits on a dead connection.
        self._hub.fail_all(error)
        for future in self._confirmations.values():
            if not future.done():
                future.set_exception(error or SubscriptionLost("PubSub closed"))
        self._confirmations.clear()
        reader, self._reader = self._reader, None
        if reader is not None and not reader_done:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await cast(_Closable, pubsub).aclose()
