"""Redis clients whose pools wait for a free connection instead of failing.

redis-py's default pool raises `MaxConnectionsError` once 100 connections are in use. A node under a
burst (a thousand chats posting at once) has more commands in flight than that: the chat rate limit
then failed open and event publishing failed outright. These pools queue such commands for a moment.
"""

from __future__ import annotations

from typing import Any, Final

from redis.asyncio import BlockingConnectionPool, Redis

# Connections per client and process, and how long a command waits for one before it fails.
POOL_SIZE: Final = 64
POOL_WAIT_SECONDS: Final = 10.0


def redis_client(url: str, *, client_name: str, **options: Any) -> Redis:
    """A client for `url` with a waiting pool (see the module); `options` go to each connection."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=POOL_WAIT_SECONDS, client_name=client_name, **options
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool
