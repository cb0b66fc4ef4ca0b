"""How near a cue word is to a token: the tie-breaker between "private key" and "tx hash", card and order."""

from __future__ import annotations

import bisect
import re

BEFORE = 80
AFTER = 40


# Ends a sentence: "is my private key safe? I sent 2 ETH in 0x…" is about a transaction.
_SENTENCE_END = re.compile(r"[.?!。？！](?:\s|$)|[。？！]")
# A label this close applies even across a full stop ("My private key. 0x…").
_ADJACENT = 20


class Cues:
    """The spans of one cue pattern in one text, found in a single pass on first use.

    With `same_sentence`, a cue further away than a few characters counts only when no sentence ends
    between it and the token.
    """

    def __init__(self, text: str, pattern: re.Pattern[str], *, same_sentence: bool = False) -> None:
        self._text = text
        self._pattern = pattern
        self._same_sentence = same_sentence
        self._starts: list[int] | None = None
        self._ends: list[int] = []

    def distance(self, start: int, end: int) -> int | None:
        """Characters between `text[start:end]` and the nearest cue within reach on either side."""
        if self._starts is None:
            spans = [m.span() for m in self._pattern.finditer(self._text)]
            self._starts = [s for s, _ in spans]
            self._ends = [e for _, e in spans]
        best: int | None = None
        # The last cue ending at or before `start`, and the first starting at or after `end`.
        i = bisect.bisect_right(self._ends, start) - 1
        if i >= 0 and start - self._ends[i] <= BEFORE and self._reaches(self._ends[i], start):
            best = start - self._ends[i]
        j = bisect.bisect_left(self._starts, end)
        if j < len(self._starts) and self._starts[j] - end <= AFTER and self._reaches(end, self._starts[j]):
            after = self._starts[j] - end
            best = after if best is None else min(best, after)
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
