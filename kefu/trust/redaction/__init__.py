"""Redaction of the secrets customers paste (seed phrases, keys, passwords, codes, cards) before storage."""

from __future__ import annotations

from kefu.trust.redaction.engine import Redactor, redact
from kefu.trust.redaction.kinds import Finding, Redaction, SecretKind, placeholder

__all__ = ["Finding", "Redaction", "Redactor", "SecretKind", "placeholder", "redact"]
