"""Masking the customer's identifiers in staff text: whole Latin words, any position in CJK text."""

from __future__ import annotations

import pytest

from kefu.privacy.scrub import REMOVED, mask_values

VALUES = ("Alice Zhang", "alice@example.com", "+8613800138001", "8613800138001", "张伟", "Bob")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello Alice Zhang, thanks", f"Hello {REMOVED}, thanks"),
        ("mail ALICE@example.com now", f"mail {REMOVED} now"),
        ("called +8613800138001 twice", f"called {REMOVED} twice"),
        ("called 8613800138001 twice", f"called {REMOVED} twice"),
        ("你好张伟，请稍等", f"你好{REMOVED}，请稍等"),
        ("Bob said hi to Bobby at the kebob stand", f"{REMOVED} said hi to Bobby at the kebob stand"),
        ("nothing to see", "nothing to see"),
        ("", ""),
    ],
)
def test_mask_values(text: str, expected: str) -> None:
    assert mask_values(text, VALUES) == expected


def test_short_values_and_regex_characters_are_safe() -> None:
    assert mask_values("Al is here (a.b)", ["Al", "(a.b)"]) == f"Al is here {REMOVED}"
    assert mask_values("a*b+c", ["a*b+c"]) == REMOVED
