"""Public conversation references: the format customers type and threading finds, drawn at random."""

from __future__ import annotations

from collections import Counter

from kefu.core.ids import REFERENCE_DIGITS, find_reference, new_reference


def test_references_have_the_documented_format_and_are_found_again() -> None:
    references = [new_reference() for _ in range(2_000)]
    for reference in references:
        prefix, _, digits = reference.partition("-")
        assert prefix == "KF"
        assert len(digits) == REFERENCE_DIGITS
        assert digits.isdigit()
        assert digits[0] != "0"
        assert find_reference(f"Re: Deposit [{reference.lower()}]") == reference
    assert len(set(references)) > 1_990  # random over 90 million values: collisions are rare


def test_every_leading_digit_is_drawn() -> None:
    leading = Counter(new_reference()[3] for _ in range(9_000))
    assert set(leading) == set("123456789")
    assert min(leading.values()) > 700  # about 1,000 each: no digit is favoured or left out
