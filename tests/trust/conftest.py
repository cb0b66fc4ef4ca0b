"""Trust-domain fixtures: a frozen clock, so code lifetimes and verification windows can be crossed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kefu.core.clock import FrozenClock, set_clock, utcnow


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """Kefu's clock frozen at the real now (codes are compared with times the database stored)."""
    frozen = FrozenClock(utcnow().replace(microsecond=0))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)
