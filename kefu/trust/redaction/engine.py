"""The Redactor: runs every detector over a text, merges overlapping findings, builds the redacted text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kefu.trust.redaction.cards import find_cards
from kefu.trust.redaction.codes import find_codes
from kefu.trust.redaction.context import lowered
from kefu.trust.redaction.credentials import (
    compile_patterns,
    find_api_secrets,
    find_custom,
    find_passwords,
    hints,
)
from kefu.trust.redaction.keys import find_base58_keys, find_hex_keys, find_keystores
from kefu.trust.redaction.kinds import Finding, Redaction, apply, merge
from kefu.trust.redaction.mnemonics import find_mnemonics

# No secret is shorter: a 4-digit code after a 2-letter cue ("验证码1234" is 7).
_SHORTEST = 5
_SHORTEST_KEY = 51  # a WIF key; hex keys are 64
# Cheap gates, one search each: every card starts with a group of four digits; every key is a run of
# at least 51 ASCII letters and digits.
_CARD_GATE = re.compile("[0-9０-９]{4}")
_KEY_GATE = re.compile("[0-9A-Za-z]{51}")


class Redactor:
    """Finds the secrets customers paste and replaces each with `placeholder(kind)`.

    `api_secret_patterns` are extra regexes (an operator setting) for an exchange's own API-secret
    format; a named group `secret` (or else group 1) limits what is replaced. They are compiled once;
    an invalid one raises ValueError. Thread-safe: holds no state beyond the compiled patterns.
    """

    def __init__(self, api_secret_patterns: Sequence[str] = ()) -> None:
        if isinstance(api_secret_patterns, str):  # would be read as one pattern per character
            raise TypeError("api_secret_patterns is a sequence of patterns, not one string")
        self._patterns = compile_patterns(tuple(api_secret_patterns))

    def find(self, text: str) -> tuple[Finding, ...]:
        """The merged findings in `text` (sorted by start, non-overlapping), without redacting."""
        findings: list[Finding] = _builtin(text) if len(text) >= _SHORTEST else []
        if self._patterns:
            findings += find_custom(text, self._patterns)
        return merge(findings)

    def redact(self, text: str) -> Redaction:
        """`text` with every secret replaced; offsets in the findings refer to the original `text`."""
        findings = self.find(text)
        return Redaction(apply(text, findings), findings)


def _builtin(text: str) -> list[Finding]:
    low = lowered(text)
    findings: list[Finding] = [*find_mnemonics(text)]
    if _CARD_GATE.search(text):
        findings += find_cards(text, low)
    if len(text) >= _SHORTEST_KEY and _KEY_GATE.search(text):
        findings += find_hex_keys(text, low)
        findings += find_base58_keys(text, low)
    if "rypto" in low:
        findings += find_keystores(text)
    found = hints(low)
    if found:
        findings += find_passwords(text, low, found)
        findings += find_codes(text, low, found)
        findings += find_api_secrets(text, low, found)
    return findings


_DEFAULT = Redactor()


def redact(text: str) -> Redaction:
    """Redact `text` with the default Redactor (no operator API-secret patterns)."""
    return _DEFAULT.redact(text)
