"""Time is always tz-aware UTC; tests swap the clock instead of patching `datetime`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a tz-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


_clock: Clock = SystemClock()


def utcnow() -> datetime:
    """The current time in UTC, from the installed clock."""
    return _clock.now()


def set_clock(clock: Clock) -> Clock:
    """Install a clock (tests); returns the previous one so it can be restored."""
    global _clock
    previous, _clock = _clock, clock
    return previous
