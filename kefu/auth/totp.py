"""Time-based one-time passwords (RFC 6238) with replay protection."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

ISSUER = "Kefu"
DIGITS = 6
INTERVAL_SECONDS = 30
# One step either side tolerates phone clocks that drift by up to 30 seconds.
VALID_WINDOW = 1
_CODE_RE = re.compile(rf"[0-9]{{{DIGITS}}}")


def new_totp_secret() -> str:
    """A new random base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account_name: str) -> str:
    """The otpauth:// URI that authenticator apps read from a QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )


def normalise_code(code: str) -> str | None:
    """The code without spaces if it looks like a TOTP code, else None."""
    cleaned = code.replace(" ", "").strip() if len(code) <= 32 else ""
    return cleaned if _CODE_RE.fullmatch(cleaned) else None


def code_for(secret: str, *, at: datetime) -> str:
    """The code valid at `at` (tests and enrolment checks)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS).at(at)


def match_timestep(secret: str, code: str, *, at: datetime, last_timestep: int | None) -> int | None:
    """The time step `code` belongs to, if valid at `at` and newer than `last_timestep`; else None.

    Rejecting steps at or before the last accepted one means a code (or an older one) that was
    observed once cannot be replayed while it is still inside the validity window.
    """
    cleaned = normalise_code(code)
    if cleaned is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL_SECONDS)
    current = totp.timecode(at)
    matched: int | None = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Compare every candidate so the time taken does not reveal which step matched.
        if hmac.compare_digest(totp.generate_otp(step), cleaned):
            matched = step
    if matched is None or (last_timestep is not None and matched <= last_timestep):
        return None
    return matched
