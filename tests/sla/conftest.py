"""SLA test helpers: a frozen clock and the API client with the SLA routes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kefu.core.clock import FrozenClock, set_clock
from tests.schedules.conftest import api

__all__ = ["api", "clock"]

# Monday 2025-03-03 10:00 in Shanghai.
START = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Time that only moves when a test says so (restored afterwards)."""
    frozen = FrozenClock(START)
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)
