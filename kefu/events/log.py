"""A bounded, ordered log of recent events, so a client that reconnects catches up on what it missed.

Appending and publishing happen as one step: the event is numbered and sent to its topics' channels
atomically (a Lua script on Redis; no await in between in memory). So the order of positions is the
order every subscriber sees live, and a client that saw position P has seen everything before P that
was addressed to it. A client whose position has been trimmed away (or comes from another log, after
a Redis flush) is told to resynchronise instead of silently missing events.

Positions look like Redis stream ids (``<int>-<int>``) in both implementations and are opaque to clients.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import Final, Protocol

from kefu.core.redis_clients import redis_client
from kefu.pubsub.base import PubSub

POSITION_PATTERN: Final = re.compile(r"^\d{1,20}-\d{1,20}$", re.ASCII)
DEFAULT_RETAIN: Final = 20_000
LOG_KEY: Final = "kefu:events:log"

Position = tuple[int, int]


def parse_position(text: str) -> Position:
    """`"12-3"` → (12, 3); ValueError for anything else (clients send these back to us)."""
    if not POSITION_PATTERN.match(text):
        raise ValueError("not an event log position")
    major, _, minor = text.partition("-")
    return int(major), int(minor)


def _format(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


def with_position(data: bytes, position: str) -> bytes:
    """Insert `"position"` as the first member of a serialised JSON object (what the Lua script does)."""
    if not data.startswith(b"{") or data == b"{}":
        raise ValueError("an event is a non-empty JSON object")
    return b'{"position":"' + position.encode() + b'",' + data[1:]


class EventLog(Protocol):
    """Numbers and publishes events; replays the recent ones."""

    async def publish(self, data: bytes, channels: Sequence[str]) -> str:
        """Append `data` (a JSON object) to the log and publish it, with its position, to `channels`."""
        ...

    async def read_after(self, after: str, limit: int) -> list[bytes] | None:
        """Up to `limit` events after position `after`, oldest first (each carrying its position);
        None when events after `after` may have been trimmed or `after` is not from this log."""
        ...

    async def head(self) -> str:
        """The position of the newest event ("0-0" when empty): where a fresh client starts."""
        ...


class MemoryEventLog:
    """The log of a single process (the embedded default), on top of its in-memory PubSub."""

    def __init__(self, pubsub: PubSub, *, retain: int = DEFAULT_RETAIN) -> None:
        self._pubsub = pubsub
        self._entries: deque[tuple[Position, bytes]] = deque(maxlen=retain)
        self._last = 0
        # The highest position ever dropped from the front: a reader behind it has a gap.
        self._trimmed = 0

    async def publish(self, data: bytes, channels: Sequence[str]) -> str:
        """Number, keep and publish `data`; the memory PubSub delivers without awaiting anyone."""
        self._last += 1
        position = _format((self._last, 0))
        message = with_position(data, position)
        if len(self._entries) == self._entries.maxlen:
            self._trimmed = self._entries[0][0][0]
        self._entries.append(((self._last, 0), message))
        for channel in channels:
            await self._pubsub.publish(channel, message)
        return position

    async def read_after(self, after: str, limit: int) -> list[bytes] | None:
        """Events after `after`; None if some were trimmed or `after` is ahead of this log."""
        major, _minor = parse_position(after)
        if major > self._last or major < self._trimmed:
            return None
        return [message for (number, _), message in self._entries if number > major][:limit]

    async def head(self) -> str:
        """The newest position."""
        return _format((self._last, 0))


# XADD numbers the event, then PUBLISH sends it with its id spliced in, in one atomic script.
_PUBLISH_SCRIPT: Final = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
local message = '{"position":"' .. id .. '",' .. string.sub(ARGV[2], 2)
for i = 3, #ARGV do
  redis.call('PUBLISH', ARGV[i], message)
end
return id
"""


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisEventLog:
    """A Redis stream shared by every node; trimmed to about `retain` entries."""

    def __init__(self, url: str, *, retain: int = DEFAULT_RETAIN, key: str = LOG_KEY) -> None:
        self._redis = redis_client(url, client_name="kefu-eventlog")
        self._retain = retain
        self._key = key
        self._script = self._redis.register_script(_PUBLISH_SCRIPT)

    async def publish(self, data: bytes, channels: Sequence[str]) -> str:
        """XADD and PUBLISH atomically; returns the stream id."""
        if not data.startswith(b"{") or data == b"{}":
            raise ValueError("an event is a non-empty JSON object")
        result = await self._script(keys=[self._key], args=[self._retain, data, *channels])
        return _decode(result)

    async def read_after(self, after: str, limit: int) -> list[bytes] | None:
        """XRANGE after `after`, unless the stream was trimmed past it or never reached it."""
        wanted = parse_position(after)
        info = await self._stream_info()
        if info is None:
            return None if wanted != (0, 0) else []
        last, first, trimmed = info
        # Conservative: behind the oldest entry after some were trimmed may mean a gap.
        if wanted > last or (trimmed and wanted < first):
            return None
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self._redis.xrange(  # type: ignore[assignment]
            self._key, min=f"({after}", max="+", count=limit
        )
        return [with_position(fields[b"e"], _decode(ident)) for ident, fields in entries]

    async def head(self) -> str:
        """The last generated stream id."""
        info = await self._stream_info()
        return "0-0" if info is None else _format(info[0])  # last generated id

    async def _stream_info(self) -> tuple[Position, Position, bool] | None:
        """(last id, first retained id, whether anything was trimmed) or None without a stream."""
        if not await self._redis.exists(self._key):
            return None
        info = await self._redis.xinfo_stream(self._key)
        last = parse_position(_decode(info["last-generated-id"]))
        first_entry = info.get("first-entry")
        first = parse_position(_decode(first_entry[0])) if first_entry else last
        # MAXLEN trimming does not move max-deleted-entry-id; entries-added minus length counts it.
        trimmed = int(info["entries-added"]) > int(info["length"])
        return last, first, trimmed

    async def close(self) -> None:
        """Release the connection pool."""
        await self._redis.aclose()
