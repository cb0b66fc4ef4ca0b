"""MIME bombs and limits: every limit stops work with a problem recorded and the rest kept; the
parser never raises; an ordinary message parses in well under the budget.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc

import pytest

import kefu.mail.inbound.parse as parse_module
from kefu.mail.inbound.limits import ParseLimits, Problem
from kefu.mail.inbound.parse import parse_email
from tests.mail.inbound.samples import (
    b64_lines,
    deep_nesting,
    huge_base64,
    many_parts,
    message,
    part,
    typical_with_attachment,
    with_multipart,
)


def test_ten_thousand_parts() -> None:
    raw = many_parts(10_000)
    started = time.perf_counter()
    parsed = parse_email(raw)
    assert time.perf_counter() - started < 2
    assert parsed.text == "first part text"
    assert len(parsed.attachments) == 100
    assert Problem.TOO_MANY_PARTS in parsed.problems
    assert Problem.TOO_MANY_ATTACHMENTS in parsed.problems
    assert parsed.needs_review


def test_parts_limit_counts_every_level() -> None:
    parsed = parse_email(many_parts(50), limits=ParseLimits(max_parts=10))
    assert len(parsed.attachments) == 9  # the text part is one of the ten
    assert Problem.TOO_MANY_PARTS in parsed.problems


def test_hundred_deep_nesting() -> None:
    started = time.perf_counter()
    parsed = parse_email(deep_nesting(100))
    assert time.perf_counter() - started < 1
    assert parsed.text == "top text"  # the deepest part is past the depth limit
    assert Problem.TOO_DEEP in parsed.problems


def test_nesting_within_the_limit_is_read() -> None:
    assert parse_email(deep_nesting(10)).text == "top text\n\nthe deepest text"


def test_fifty_megabyte_base64_attachment() -> None:
    raw = huge_base64(50_000_000)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = parse_email(raw)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\n50 MB base64: {elapsed * 1000:.0f} ms, peak {peak / 1e6:.0f} MB traced")
    assert elapsed < 5
    assert peak < 5 * len(raw)
    assert parsed.text == "see attachment"
    assert parsed.attachments == ()
    assert {Problem.MESSAGE_TOO_LARGE, Problem.PART_TOO_LARGE} <= set(parsed.problems)


def test_large_attachment_within_limits_is_decoded() -> None:
    raw = huge_base64(4_000_000)
    parsed = parse_email(raw)
    assert len(parsed.attachments[0].data) == 4_000_000 // 77 * 57
    assert parsed.problems == ()


def test_total_decoded_limit() -> None:
    attachment = part("application/octet-stream", b64_lines(b"z" * 3000), "Content-Transfer-Encoding: base64")
    raw = with_multipart([part("text/plain", b"body"), *[attachment] * 5])
    parsed = parse_email(raw, limits=ParseLimits(max_total_bytes=10_000))
    assert parsed.text == "body"
    assert len(parsed.attachments) == 3
    assert Problem.TOTAL_TOO_LARGE in parsed.problems


def test_text_limit() -> None:
    parsed = parse_email(message(body=b"x" * 5000), limits=ParseLimits(max_text_chars=1000))
    assert len(parsed.text) == 1000
    assert Problem.TEXT_TRUNCATED in parsed.problems


def test_message_size_limit_cuts_at_a_line() -> None:
    parsed = parse_email(message(body=b"line\n" * 1000), limits=ParseLimits(max_bytes=2000))
    assert parsed.text.endswith("line")
    assert Problem.MESSAGE_TOO_LARGE in parsed.problems


def test_buffer_types_are_accepted() -> None:
    raw = message(body=b"from a buffer")
    assert parse_email(bytearray(raw)).text == "from a buffer"  # type: ignore[arg-type]
    assert parse_email(memoryview(raw)).text == "from a buffer"  # type: ignore[arg-type]


def test_internal_failure_becomes_a_flagged_empty_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RecursionError("simulated")

    monkeypatch.setattr(parse_module, "collect_body", explode)
    parsed = parse_email(message(body=b"x"))
    assert parsed.problems == (Problem.PARSER_ERROR,)
    assert parsed.text == ""
    assert parsed.needs_review


@pytest.mark.parametrize("value", ["a str, not bytes", None, 42])
def test_not_bytes_at_all_still_does_not_raise(value: object) -> None:
    parsed = parse_email(value)  # type: ignore[arg-type]
    assert Problem.PARSER_ERROR in parsed.problems


def test_typical_message_parses_in_well_under_5_ms() -> None:
    raw = typical_with_attachment()
    assert 25_000 < len(raw) < 35_000
    parse_email(raw)  # warm caches (regexes, codecs)
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        parsed = parse_email(raw)
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    print(f"\ntypical {len(raw) / 1000:.1f} KB message with one attachment: median {median * 1000:.2f} ms")
    assert median < 0.050
    assert parsed.attachments[0].filename == "statement.pdf"
    assert parsed.text.startswith("Hello support,")
    assert parsed.problems == ()
