"""Backoff timing and the error text stored on failed jobs."""

from __future__ import annotations

import random

import pytest

from kefu.jobs.models import ERROR_MAX
from kefu.jobs.retry import backoff_seconds, describe_error, scrub


def test_backoff_stays_within_full_jitter_bounds_and_grows() -> None:
    rng = random.Random(1)
    for attempt in range(1, 40):
        ceiling = min(3600.0, 2.0**attempt)
        samples = [backoff_seconds(attempt, base=2.0, cap=3600.0, rng=rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # Jittered, not constant, and spread over the whole window.
        assert max(samples) - min(samples) > ceiling / 2
    means = [
        sum(backoff_seconds(a, base=2.0, cap=3600.0, rng=rng) for _ in range(500)) / 500 for a in (1, 4, 8)
    ]
    assert means[0] < means[1] < means[2]


def test_backoff_survives_huge_attempt_numbers() -> None:
    assert 0 <= backoff_seconds(10_000, base=2.0, cap=30.0) <= 30.0


@pytest.mark.parametrize(("attempt", "base", "cap"), [(0, 2.0, 10.0), (1, 1.0, 10.0), (1, 2.0, 0.0)])
def test_backoff_rejects_bad_arguments(attempt: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        backoff_seconds(attempt, base=base, cap=cap)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("POST https://api.telegram.org/bot123456789:AAHk-abcdefghijklmnopqrstuvwxyz/sendMessage", "AAHk"),
        ("connect redis://default:s3cr3t@redis.internal:6379 failed", "s3cr3t"),
        ("401: Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("GET /v1/send?to=x&api_key=abc123&x=1", "abc123"),
        ("bad credentials password='pa ss'", "pa ss"),
        ('{"client_secret": "zzz999"}', "zzz999"),
        ("token=t0k3n", "t0k3n"),
    ],
)
def test_scrub_masks_credentials(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_scrub_leaves_ordinary_text_alone() -> None:
    text = "SMTP 550 mailbox unavailable for customer@example.com (KF-12345678)"
    assert scrub(text) == text


def test_describe_error_names_the_type_place_and_is_bounded() -> None:
    def explode() -> None:
        raise RuntimeError("x" * 5000)

    try:
        explode()
    except RuntimeError as exc:
        text = describe_error(exc)
    assert text.startswith("RuntimeError: xxx")
    assert len(text) == ERROR_MAX
    assert text.endswith("…")
    assert describe_error(ValueError("short")) == "ValueError: short"
