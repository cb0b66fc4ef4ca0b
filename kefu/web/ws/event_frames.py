"""What console sockets send of an event: one frame text per event, shared by every socket."""

from __future__ import annotations

import json
from typing import Final

from kefu.events.log import parse_position
from kefu.events.names import EventName
from kefu.events.types import Event

# Events after which the console refreshes its lists anyway (console.js `handle`).
LIST_EVENTS: Final = frozenset(
    {
        EventName.CONVERSATION_CREATED,
        EventName.CONVERSATION_UPDATED,
        EventName.MESSAGE_CREATED,
        EventName.SLA_WARNING,
        EventName.SLA_BREACHED,
    }
)
# The frame of an event is the same for every socket that may see it: serialised once per process.
FRAME_CACHE: Final = 512
_frames: dict[tuple[str, str | None], str] = {}


def event_frame(event: Event) -> str:
    """The `event` frame's text (shared by every socket sending it)."""
    key = (event.id, event.position)
    text = _frames.get(key)
    if text is None:
        text = json.dumps(
            {"type": "event", "event": event.model_dump(mode="json")}, separators=(",", ":"), default=str
        )
        _frames[key] = text
        if len(_frames) > FRAME_CACHE:
            del _frames[next(iter(_frames))]
    return text


def later_than(event: Event, other: Event) -> bool:
    """Whether `event` comes later in the log than `other` (both logged)."""
    assert event.position is not None
    assert other.position is not None
    return parse_position(event.position) > parse_position(other.position)
