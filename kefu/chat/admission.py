"""How many chat posts one node works on at once; past that, new ones are refused with `busy`.

Every post holds or waits for one of the process's database connections (kefu.db.engine.POOL_SIZE).
Once more posts wait than the pool drains in a couple of seconds, waiting only makes every message
later, and past the pool's 30-second checkout timeout it ends in `internal` errors and reconnects.
Refusing at once keeps the accepted messages within that bound: nothing of the refused one was
stored or counted against the visitor's rate limit, and the client sends it again after
`retry_after_ms` (the widget adds jitter, so refused clients do not come back in step). The SMTP
listener does the same with a 451 (kefu.mail.smtp_server).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from kefu.observability.metrics import CHAT_POSTS_REFUSED

# What a refused client is told to wait before sending again (it adds up to as much in jitter).
RETRY_AFTER_MS: Final = 1000


class Busy(Exception):
    """The node is at its limit of posts in flight: nothing was stored."""


@dataclass
class PostAdmission:
    """A count of the posts in flight on this node, bounded by `limit`."""

    limit: int
    in_flight: int = 0

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold one place while the post is handled; Busy at once when none is free."""
        if self.in_flight >= self.limit:
            CHAT_POSTS_REFUSED.inc()
            raise Busy
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
