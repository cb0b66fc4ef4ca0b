"""What a detector reports: the kind of secret, where it is, and the redacted text built from findings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SecretKind(StrEnum):
    """The kinds of secret customers paste; the value is stable (stored in audit records)."""

    SEED_PHRASE = "seed_phrase"
    PRIVATE_KEY = "private_key"
    WIF_KEY = "wif_key"
    EXTENDED_KEY = "extended_private_key"
    KEYSTORE = "keystore"
    API_SECRET = "api_secret"  # noqa: S105 - a kind name, not a secret
    PASSWORD = "password"  # noqa: S105 - a kind name, not a secret
    VERIFICATION_CODE = "verification_code"
    CARD_NUMBER = "card_number"


# English on purpose: the placeholder is stored in the message body, which has no locale.
_LABELS: dict[SecretKind, str] = {
    SecretKind.SEED_PHRASE: "seed phrase",
    SecretKind.PRIVATE_KEY: "private key",
    SecretKind.WIF_KEY: "private key",
    SecretKind.EXTENDED_KEY: "extended private key",
    SecretKind.KEYSTORE: "keystore file",
    SecretKind.API_SECRET: "API secret",
    SecretKind.PASSWORD: "password",
    SecretKind.VERIFICATION_CODE: "verification code",
    SecretKind.CARD_NUMBER: "card number",
}

# When findings overlap and are otherwise equal, the earlier kind names the merged finding: the
# self-verifying wallet secrets first, then the contextual ones.
PRIORITY: tuple[SecretKind, ...] = (
    SecretKind.KEYSTORE,
    SecretKind.SEED_PHRASE,
    SecretKind.EXTENDED_KEY,
    SecretKind.WIF_KEY,
    SecretKind.PRIVATE_KEY,
    SecretKind.API_SECRET,
    SecretKind.CARD_NUMBER,
    SecretKind.PASSWORD,
    SecretKind.VERIFICATION_CODE,
)
_RANK = {kind: rank for rank, kind in enumerate(PRIORITY)}

PLACEHOLDER_PREFIX = "[redacted: "


def placeholder(kind: SecretKind) -> str:
    """The text that replaces a secret of `kind`, e.g. `[redacted: seed phrase]`."""
    return f"{PLACEHOLDER_PREFIX}{_LABELS[kind]}]"


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret: its kind and `[start, end)` offsets (str indices) into the original text.

    `certain` is True when a checksum or an unambiguous structure proves it (BIP-39 checksum,
    base58check, keystore JSON, Luhn with a card context), False when only the wording suggests it.
    """

    kind: SecretKind
    start: int
    end: int
    certain: bool

    def strength(self) -> tuple[bool, int, int]:
        """Sort key: certain beats likely, then the longer span, then the kind's priority."""
        return (self.certain, self.end - self.start, -_RANK[self.kind])


@dataclass(frozen=True, slots=True)
class Redaction:
    """The redacted text and the findings (offsets into the original text, sorted, non-overlapping)."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        """True when at least one secret was replaced."""
        return bool(self.findings)


def merge(findings: list[Finding]) -> tuple[Finding, ...]:
    """Overlapping findings become one spanning their union, named after the strongest of them.

    The union (not just the winner) is replaced so no character any detector flagged survives.
    """
    result: list[Finding] = []
    group: list[Finding] = []
    end = -1
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end <= finding.start:
            continue
        if group and finding.start >= end:
            result.append(_union(group))
            group = []
        group.append(finding)
        end = max(end, finding.end) if len(group) > 1 else finding.end
    if group:
        result.append(_union(group))
    return tuple(result)


def _union(group: list[Finding]) -> Finding:
    best = max(group, key=Finding.strength)
    return Finding(best.kind, min(f.start for f in group), max(f.end for f in group), best.certain)


def apply(text: str, findings: tuple[Finding, ...]) -> str:
    """`text` with each finding's span replaced by its placeholder (findings sorted, disjoint)."""
    if not findings:
        return text
    parts: list[str] = []
    cursor = 0
    for finding in findings:
        parts.append(text[cursor : finding.start])
        parts.append(placeholder(finding.kind))
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts)
