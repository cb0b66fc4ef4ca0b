"""A sliding-window counter per key, in process memory (per connection, per visitor on this node)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final

_MAX_KEYS: Final = 100_000


class SlidingWindow:
    """At most `limit` events per `seconds` per key; `hit` records one and says whether it was allowed.

    Refused events are not recorded, so a client that keeps hammering is refused only for as long as
    its accepted events stay in the window. `over` tells how far past the limit the refusals went.
    """

    def __init__(self, limit: int, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("limit and seconds must be positive")
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._refused: dict[str, int] = {}

    def hit(self, key: str) -> bool:
        """Record an event for `key` if the window has room; False (and nothing recorded) if not."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= _MAX_KEYS:
                self._prune(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            self._refused[key] = self._refused.get(key, 0) + 1
            return False
        self._refused.pop(key, None)
        events.append(now)
        return True

    def refused_in_a_row(self, key: str) -> int:
        """How many events of `key` were refused since the last allowed one."""
        return self._refused.get(key, 0)

    def _prune(self, now: float) -> None:
        stale = [k for k, events in self._events.items() if not events or events[-1] <= now - self.seconds]
        for key in stale:
            self._events.pop(key, None)
            self._refused.pop(key, None)
