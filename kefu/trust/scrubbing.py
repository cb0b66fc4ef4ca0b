"""The process's redactor: the built-in detectors plus the operator's API-secret patterns.

Configured once at start-up (`configure_redaction`, from KEFU_REDACTION_PATTERNS) so that every
ingest path, whatever its caller, applies the same detectors without threading settings through.
"""

from __future__ import annotations

from kefu.trust.redaction import Redactor

_active = Redactor()


def parse_patterns(setting: str) -> tuple[str, ...]:
    """One regular expression per non-blank line of the setting."""
    return tuple(line.strip() for line in setting.splitlines() if line.strip())


def configure_redaction(setting: str) -> None:
    """Use the built-in detectors plus `setting`'s patterns from now on; ValueError on a bad pattern."""
    global _active
    _active = Redactor(parse_patterns(setting))


def active_redactor() -> Redactor:
    """The redactor every channel's ingest applies."""
    return _active
