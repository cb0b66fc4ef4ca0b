"""Retry timing and the error text kept on a job (short, and scrubbed of credentials)."""

from __future__ import annotations

import math
import random
import re
import traceback

from kefu.jobs.models import ERROR_MAX

_SECRET_PATTERNS = (
    # user:password@ in URLs (SMTP, Redis, database URLs in connection errors).
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***@"),
    # Telegram-style bot tokens embedded in API paths.
    (re.compile(r"bot\d{5,}:[A-Za-z0-9_-]{20,}"), "bot***"),
    # Authorization headers and key-like query or form parameters.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (
        re.compile(
            r"(?i)\b((?:access_|api_|app_|client_)?(?:token|key|secret|password|passwd|signature|sig)"
            r"[\"']?\s*[=:]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s&\"',;]+)"
        ),
        r"\1***",
    ),
)


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retry `attempt` (1-based): full jitter, uniform in [0, min(cap, base**attempt)]."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if base <= 1 or cap <= 0:
        raise ValueError("backoff needs base > 1 and cap > 0")
    # Compare exponents: base**attempt itself overflows a float for large attempts.
    ceiling = cap if attempt >= math.log(cap, base) else min(cap, base**attempt)
    return (rng or random).uniform(0.0, ceiling)


def scrub(text: str) -> str:
    """Mask credentials that commonly appear in exception messages."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def describe_error(exc: BaseException) -> str:
    """`Type: message (at file:line in function)`, scrubbed and cut to fit `last_error`."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"
    text = scrub(text)
    return text if len(text) <= ERROR_MAX else text[: ERROR_MAX - 1] + "…"
