"""The sliding window: allows up to the limit per window, forgets old events, counts refusals."""

from __future__ import annotations

import pytest

from kefu.core.ratelimit import SlidingWindow


def test_allows_the_limit_per_window_and_recovers_as_events_age() -> None:
    now = [0.0]
    window = SlidingWindow(3, 60.0, clock=lambda: now[0])
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]
    assert window.hit("b")  # keys are independent
    assert window.refused_in_a_row("a") == 1
    now[0] = 59.9
    assert not window.hit("a")
    assert window.refused_in_a_row("a") == 2
    now[0] = 60.0
    assert window.hit("a")  # the first event left the window; refusals were never recorded
    assert window.refused_in_a_row("a") == 0


@pytest.mark.parametrize(("limit", "seconds"), [(0, 1.0), (1, 0.0), (-1, 5.0)])
def test_rejects_meaningless_limits(limit: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SlidingWindow(limit, seconds)
