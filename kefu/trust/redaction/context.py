"""How near a cue word is to a token: the tie-breaker between "private key" and "tx hash", card and order."""

from __future__ import annotations

import re
import string

BEFORE = 80
AFTER = 40
# ASCII letters and digits: a token glued to one of them is part of a longer word. (`str.isalnum`
# would also refuse Chinese, and "私钥0x…" is a key.)
ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)
# Ends a sentence: "is my private key safe? I sent 2 ETH in 0x…" is about a transaction.
_SENTENCE_END = re.compile(r"[.?!](?:\s|$)|[。？！]")
# A label this close applies even across a full stop ("My private key. 0x…").
_ADJACENT = 20


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def lowered(text: str) -> str:
    """`text` lower-cased with offsets kept: `str.lower` unless it changes the length ("İ" → "i̇")."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


def w(literal: str) -> str:
    """Regex for a lowercase `literal` not preceded by an ASCII letter or digit.

    The look-behind comes after the literal so the pattern still starts with a literal (fast to skip
    to); `\b` would not do, as it sees no edge between a Chinese character and a Latin letter ("的uid").
    """
    return f"{re.escape(literal)}(?<![a-z0-9]{re.escape(literal)})"


class Cues:
    """Where one cue pattern occurs around tokens of one text (a scan of the window around each).

    With `same_sentence`, a cue further away than a few characters counts only when no sentence ends
    between it and the token.
    """

    def __init__(self, text: str, pattern: re.Pattern[str], *, same_sentence: bool = False) -> None:
        self._text = text
        self._pattern = pattern
        self._same_sentence = same_sentence

    def distance(self, start: int, end: int) -> int | None:
        """Characters between `text[start:end]` and the nearest cue within reach on either side."""
        best: int | None = None
        before: int | None = None
        for match in self._pattern.finditer(self._text, max(0, start - BEFORE), start):
            before = match.end()
        if before is not None and self._reaches(before, start):
            best = start - before
        after = self._pattern.search(self._text, end, min(len(self._text), end + AFTER))
        if after is not None and self._reaches(end, after.start()):
            best = after.start() - end if best is None else min(best, after.start() - end)
        return best

    def _reaches(self, gap_start: int, gap_end: int) -> bool:
        if not self._same_sentence or gap_end - gap_start <= _ADJACENT:
            return True
        return _SENTENCE_END.search(self._text, gap_start, gap_end) is None


def closer(start: int, end: int, wanted: Cues, unwanted: Cues) -> bool | None:
    """True when a `wanted` cue is nearer than any `unwanted` one; False when an `unwanted` one is
    nearer (or as near); None when neither is in reach."""
    want = wanted.distance(start, end)
    avoid = unwanted.distance(start, end)
    if avoid is not None and (want is None or avoid <= want):
        return False
    return True if want is not None else None


def standalone(text: str, start: int, end: int) -> bool:
    """True when `text[start:end]` is not glued to an ASCII letter or digit on either side."""
    return (start == 0 or text[start - 1] not in ASCII_ALNUM) and (
        end == len(text) or text[end] not in ASCII_ALNUM
    )
