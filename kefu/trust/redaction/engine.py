"""The Redactor: runs every detector over a text, merges overlapping findings, builds the redacted text."""

from __future__ import annotations

from collections.abc import Sequence

from kefu.trust.redaction.cards import find_cards
from kefu.trust.redaction.credentials import (
    TRIGGER,
    compile_patterns,
    find_api_secrets,
    find_codes,
    find_custom,
    find_passwords,
)
from kefu.trust.redaction.keys import find_base58_keys, find_hex_keys, find_keystores
from kefu.trust.redaction.kinds import Finding, Redaction, apply, merge
from kefu.trust.redaction.mnemonics import find_mnemonics


class Redactor:
    """Finds the secrets customers paste and replaces each with `placeholder(kind)`.

    `api_secret_patterns` are extra regexes (an operator setting) for an exchange's own API-secret
    format; a named group `secret` (or else group 1) limits what is replaced. They are compiled once;
    an invalid one raises ValueError. Thread-safe: holds no state beyond the compiled patterns.
    """

    def __init__(self, api_secret_patterns: Sequence[str] = ()) -> None:
        self._patterns = compile_patterns(tuple(api_secret_patterns))

    def find(self, text: str) -> tuple[Finding, ...]:
        """The merged findings in `text` (sorted by start, non-overlapping), without redacting."""
        findings: list[Finding] = [
            *find_mnemonics(text),
            *find_hex_keys(text),
            *find_base58_keys(text),
            *find_cards(text),
        ]
        if "rypto" in text or "RYPTO" in text:
            findings += find_keystores(text)
        if TRIGGER.search(text):
            findings += [*find_passwords(text), *find_codes(text), *find_api_secrets(text)]
        if self._patterns:
            findings += find_custom(text, self._patterns)
        return merge(findings)

    def redact(self, text: str) -> Redaction:
        """`text` with every secret replaced; offsets in the findings refer to the original `text`."""
        findings = self.find(text)
        return Redaction(apply(text, findings), findings)


_DEFAULT = Redactor()


def redact(text: str) -> Redaction:
    """Redact `text` with the default Redactor (no operator API-secret patterns)."""
    return _DEFAULT.redact(text)
