"""Identifiers: UUIDv7 primary keys (time-ordered, unguessable enough) and public `KF-` references."""

from __future__ import annotations

import re
import secrets
import uuid

import uuid_utils

REFERENCE_PREFIX = "KF-"
REFERENCE_DIGITS = 8
# Accepts the references of any length we may issue later, so old ones keep threading.
REFERENCE_RE = re.compile(r"\bKF-(\d{6,12})\b")


def new_id() -> uuid.UUID:
    """A new time-ordered UUIDv7 (good B-tree locality, no sequence to guess)."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def new_reference() -> str:
    """A random public conversation reference such as `KF-48213907` (never sequential)."""
    # One draw, uniform over every number of REFERENCE_DIGITS digits without a leading zero.
    low = 10 ** (REFERENCE_DIGITS - 1)
    return f"{REFERENCE_PREFIX}{low + secrets.randbelow(9 * low)}"


def find_reference(text: str) -> str | None:
    """The first `KF-` reference in text (subjects, plus-addresses), normalised."""
    match = REFERENCE_RE.search(text.upper())
    return f"{REFERENCE_PREFIX}{match.group(1)}" if match else None


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random secret (session ids, API tokens)."""
    return secrets.token_urlsafe(nbytes)
