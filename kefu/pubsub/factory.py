"""Pick the PubSub backend from settings; called at start-up, never at import time."""

from __future__ import annotations

from kefu.pubsub.base import PubSub
from kefu.pubsub.memory import MemoryPubSub
from kefu.pubsub.redis import RedisPubSub
from kefu.settings import Settings


def create_pubsub(settings: Settings) -> PubSub:
    """Redis when `redis_url` is set (several nodes), otherwise in-process (one node)."""
    if settings.redis_url:
        return RedisPubSub(settings.redis_url)
    return MemoryPubSub()
