"""Sending a reply in parts to a provider that takes no idempotency key.

The ids of the parts already sent are remembered per idempotency key, so a retry sends only the rest
and a finished reply is answered from memory. The memory is per process and bounded (oldest forgotten).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, TypeVar

from kefu.channels.adapter import Delivered

K = TypeVar("K")
V = TypeVar("V")

MAX_REMEMBERED: Final = 10_000


def remember(store: OrderedDict[K, V], key: K, value: V) -> None:
    """Set `key` as the newest entry of `store`, forgetting the oldest over MAX_REMEMBERED."""
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_REMEMBERED:
        store.popitem(last=False)


class SentParts:
    """What has gone out for each idempotency key: the part ids so far, then the whole delivery."""

    def __init__(self) -> None:
        self._progress: OrderedDict[str, list[str]] = OrderedDict()
        self._done: OrderedDict[str, Delivered] = OrderedDict()

    def finished(self, key: str) -> Delivered | None:
        """The delivery already completed under `key`, if any."""
        return self._done.get(key)

    def begin(self, key: str) -> list[str]:
        """The ids of the parts sent so far under `key`; append each part's id once it is sent."""
        sent = self._progress.setdefault(key, [])
        remember(self._progress, key, sent)
        return sent

    def finish(self, key: str, sent: list[str]) -> Delivered:
        """Record that every part under `key` went out (`sent` from `begin`) and return the delivery."""
        delivered = Delivered(tuple(sent))
        self._progress.pop(key, None)
        remember(self._done, key, delivered)
        return delivered
