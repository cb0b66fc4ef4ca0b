"""The chat's per-visitor limits, shared by every node through Redis when it is configured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from kefu.chat.admission import PostAdmission
from kefu.core.ratelimit import Limiter, MemoryLimiter, RedisLimiter
from kefu.core.redis_clients import redis_client

MESSAGES_PER_MINUTE: Final = 20
# Emails a visitor can cause (offline ticket, transcript) and files they can upload.
MAILS_PER_HOUR: Final = 5
UPLOADS_PER_TEN_MINUTES: Final = 20


@dataclass(frozen=True)
class ChatLimits:
    messages: Limiter
    mails: Limiter
    uploads: Limiter
    # Per process, not per visitor: how many posts this node works on at once.
    posts: PostAdmission
    client: Redis | None = None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


def create_chat_limits(redis_url: str, *, max_posts_in_flight: int) -> ChatLimits:
    """Counters in Redis when `redis_url` is set (several nodes), else in this process."""
    posts = PostAdmission(max_posts_in_flight)
    if not redis_url:
        return ChatLimits(
            messages=MemoryLimiter(MESSAGES_PER_MINUTE, 60.0),
            mails=MemoryLimiter(MAILS_PER_HOUR, 3600.0),
            uploads=MemoryLimiter(UPLOADS_PER_TEN_MINUTES, 600.0),
            posts=posts,
        )
    client = redis_client(redis_url, client_name="kefu-limits")
    return ChatLimits(
        messages=RedisLimiter(client, name="chat-messages", limit=MESSAGES_PER_MINUTE, seconds=60.0),
        mails=RedisLimiter(client, name="chat-mails", limit=MAILS_PER_HOUR, seconds=3600.0),
        uploads=RedisLimiter(client, name="chat-uploads", limit=UPLOADS_PER_TEN_MINUTES, seconds=600.0),
        posts=posts,
        client=client,
    )
