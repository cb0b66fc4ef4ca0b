"""BIP-39 wordlists (loaded once, on first use) and the mnemonic checksum."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache

from mnemonic import Mnemonic

VALID_LENGTHS = (12, 15, 18, 21, 24)
CHINESE_LISTS = ("chinese_simplified", "chinese_traditional")


@cache
def word_index(language: str) -> dict[str, int]:
    """Word → index (0–2047) for one BIP-39 language of the `mnemonic` package."""
    return {word: i for i, word in enumerate(Mnemonic(language).wordlist)}


@cache
def chinese_chars() -> str:
    """Every character of the simplified and traditional Chinese wordlists, sorted, as one string."""
    return "".join(sorted(set(word_index(CHINESE_LISTS[0])) | set(word_index(CHINESE_LISTS[1]))))


def char_class(chars: str) -> str:
    """A regex character class matching exactly `chars` (merged into ranges to keep it small)."""
    points = sorted({ord(c) for c in chars})
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        first, last = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def checksum_ok(indices: Sequence[int]) -> bool:
    """True when the word indices form a BIP-39 mnemonic with a valid checksum."""
    count = len(indices)
    if count not in VALID_LENGTHS:
        return False
    checksum_bits = count // 3
    value = 0
    for index in indices:
        value = (value << 11) | index
    entropy = (value >> checksum_bits).to_bytes(count * 11 // 33 * 4, "big")
    return value & ((1 << checksum_bits) - 1) == hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
