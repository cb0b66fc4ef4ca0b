"""HMAC-SHA256 request signing for the exchange contract (docs/exchange-api.md, "Signing").

canonical = timestamp + "\\n" + METHOD + "\\n" + path?query + "\\n" + hex(sha256(body))

The target is signed exactly as sent on the wire (percent-encoding included), so both sides compare
bytes, never a re-encoded form. The timestamp bounds replays to the clock window.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pydantic import SecretStr

from kefu.core.clock import utcnow

HEADER_KEY = "X-Kefu-Key"
HEADER_TIMESTAMP = "X-Kefu-Timestamp"
HEADER_SIGNATURE = "X-Kefu-Signature"
WINDOW_SECONDS = 300
# Unix seconds stay below 12 digits for millennia; a longer value is garbage, not a time.
_MAX_TIMESTAMP_DIGITS = 12


def canonical_string(timestamp: int, method: str, target: str, body: bytes) -> str:
    """The text that is signed: timestamp, upper-case method, raw path?query, body digest."""
    return "\n".join((str(timestamp), method.upper(), target, hashlib.sha256(body).hexdigest()))


def sign(secret: SecretStr, timestamp: int, method: str, target: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of the canonical string under `secret`."""
    message = canonical_string(timestamp, method, target, body).encode("utf-8")
    return hmac.new(secret.get_secret_value().encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(
    api_key: str, secret: SecretStr, method: str, target: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three authentication headers for one request (timestamp defaults to now)."""
    ts = int(utcnow().timestamp()) if timestamp is None else timestamp
    return {
        HEADER_KEY: api_key,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign(secret, ts, method, target, body),
    }


def verify_signature(
    secret: SecretStr,
    *,
    timestamp: str,
    method: str,
    target: str,
    body: bytes,
    signature: str,
    now: datetime | None = None,
    window_seconds: int = WINDOW_SECONDS,
) -> bool:
    """True when `signature` matches and `timestamp` is within the window; never raises on bad input."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return False
    current = (now or utcnow()).timestamp()
    if abs(current - int(timestamp)) > window_seconds:
        return False
    expected = sign(secret, int(timestamp), method, target, body)
    # compare_digest on bytes: str arguments must be ASCII, and a hostile header may not be.
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8"))
