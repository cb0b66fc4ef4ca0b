"""Keeping under Telegram's send limits before Telegram has to say so.

Telegram's FAQ: about one message a second in a chat (short bursts are fine) and about 30 a second
per bot overall. Each is a token bucket here. A wait longer than `max_wait` is not slept inside a
job: `RetryAfter` hands it to the outbox, which comes back later.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from kefu.jobs.registry import RetryAfter

MAX_BUCKETS: Final = 10_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Buckets of `burst` tokens refilled at `rate` a second, one per key (least recent dropped)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def delay(self, key: str) -> float:
        """Take a token for `key`: how long the caller must wait before using it (0 when available)."""
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        bucket.tokens -= 1
        self._buckets[key] = bucket
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.rate

    def give_back(self, key: str) -> None:
        """Return the token of a send that did not happen."""
        if (bucket := self._buckets.get(key)) is not None:
            bucket.tokens = min(self.burst, bucket.tokens + 1)


class SendPacer:
    """Per-chat and per-bot pacing of sends."""

    def __init__(
        self,
        *,
        per_chat: float = 1.0,
        chat_burst: float = 5.0,
        per_bot: float = 30.0,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chats = TokenBuckets(per_chat, chat_burst, clock)
        self._bots = TokenBuckets(per_bot, per_bot, clock)
        self._max_wait = max_wait

    def reserve(self, bot: str, chat: str) -> float:
        """Seconds to sleep before sending to `chat`; RetryAfter when that is longer than max_wait."""
        chat_key = f"{bot}:{chat}"
        wait = max(self._chats.delay(chat_key), self._bots.delay(bot))
        if wait > self._max_wait:
            self._chats.give_back(chat_key)
            self._bots.give_back(bot)
            raise RetryAfter(wait, "sending too fast to this Telegram chat")
        return wait
