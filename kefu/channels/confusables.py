"""Skeletons of text for lookalike checks: a curated subset of Unicode TR39 confusable detection.

Two strings that look alike get the same skeleton ("kеfu" with a Cyrillic е, "ｋｅｆｕ", "kéfu" and
"kefu" all give "kefu"; "0kx" gives "okx"; "rnodern" and "modern" agree). The full TR39 data
(confusables.txt, ~6,000 mappings) is not bundled; instead:

1. NFKD folds compatibility forms (full-width letters, mathematical alphanumerics, ligatures) and
   splits accents off their letters, which are then dropped: TR39 keeps accents, but a customer
   reading "kéfu" takes it for the brand just the same;
2. case is folded (handles and domains are compared case-insensitively anyway);
3. a hand-curated table maps the homoglyphs phishing actually uses to their Latin prototype:
   Cyrillic, Greek and Armenian letters, Latin small capitals and IPA letters, the digits 0 and 1,
   dash variants, and TR39's multi-letter prototypes (m → rn, w → vv, d → cl).

Skeletons are for comparison only; never show one to a reader.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

# Sources: Unicode confusables.txt (the entries for these letters), checked by eye in common fonts.
_SINGLE: Final[dict[str, str]] = {
    # Cyrillic (lower case; upper case arrives here case-folded, so в, м, н, т stand for В, М, Н, Т)
    "а": "a", "б": "6", "в": "b", "г": "r", "е": "e", "ё": "e", "ѐ": "e", "є": "e", "з": "3",
    "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ч": "4", "ь": "b", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ӏ": "l",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "ҳ": "x", "ҫ": "c", "ӽ": "x", "ԍ": "g",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "ϵ": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k",
    "ϰ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "ϱ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ω": "w", "ϲ": "c", "ϳ": "j",
    # Armenian
    "ա": "w", "գ": "q", "զ": "q", "հ": "h", "յ": "j", "ո": "n", "ս": "u", "ց": "g", "օ": "o",
    "ռ": "n", "լ": "l",
    # Latin letters NFKD leaves alone: dotless, barred, small capitals, IPA
    "ı": "i", "ȷ": "j", "ł": "l", "ŀ": "l", "ƚ": "l", "ɫ": "l", "ɭ": "l", "ɩ": "i", "ɪ": "i",
    "đ": "d", "ð": "d", "ɗ": "d", "ħ": "h", "ɦ": "h", "ø": "o", "ɵ": "o", "ɔ": "c", "ɑ": "a",
    "ɐ": "a", "ɡ": "g", "ɢ": "g", "ʏ": "y", "ɴ": "n", "ʀ": "r", "ʙ": "b", "ᴀ": "a", "ᴄ": "c",
    "ᴅ": "d", "ᴇ": "e", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ƅ": "b", "ƙ": "k", "ʋ": "u", "ʊ": "u", "ꞵ": "b",
    "æ": "ae", "œ": "oe", "ĳ": "ij",
    # Digits and marks that pass for letters
    "0": "o", "1": "l", "|": "l", "ǀ": "l", "ǃ": "l",
    # Dashes (hyphens in domains and handles)
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "ー": "-",
    # TR39's multi-letter prototypes: the letter is spelled as the pair it can pass for
    "m": "rn", "w": "vv", "d": "cl",
}  # fmt: skip


def _closed(table: dict[str, str]) -> dict[str, str]:
    """`table` with every prototype mapped again until stable ("ԁ" → "d" → "cl"), so order never matters."""
    closed = {}
    for char, target in table.items():
        for _ in range(4):
            mapped = "".join(table.get(c, c) for c in target)
            if mapped == target:
                break
            target = mapped
        closed[char] = target
    return closed


_MAP: Final = _closed(_SINGLE)


@lru_cache(maxsize=1024)
def skeleton(text: str) -> str:
    """The lookalike skeleton of `text`: equal skeletons mean the strings can pass for each other."""
    # casefold after NFKD: "ß" → "ss", "İ" → "i" + a combining dot (dropped below).
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    # Accents are dropped: "kéfu" reads as "kefu".
    return "".join(_MAP.get(c, c) for c in folded if not unicodedata.combining(c))


def is_confusable(left: str, right: str) -> bool:
    """True when `left` and `right` differ but their skeletons are the same."""
    return left != right and skeleton(left) == skeleton(right)
