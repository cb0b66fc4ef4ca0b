"""Input checks shared by every provider, so demo and HTTP answer hostile input the same way.

Lookups with a reference that cannot exist return "nothing found" without a round trip; actions with
malformed arguments are rejected as the exchange itself would reject them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.integrations.exchange.errors import ExchangeRejected
from kefu.integrations.exchange.schemas import PAIR_PATTERN, REFERENCE_PATTERN

MAX_LIMIT = 100
_REFERENCE = re.compile(REFERENCE_PATTERN)
_PAIR = re.compile(PAIR_PATTERN)
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}$")
_PHONE_NOISE = re.compile(r"[\s().\-]")


@dataclass(frozen=True)
class ActionRequest:
    uid: str
    reason: str
    actor: str
    idempotency_key: str


def clean_reference(value: str) -> str | None:
    """The reference trimmed, or None when it is not a well-formed uid/order id/tx hash."""
    value = value.strip()
    return value if _REFERENCE.fullmatch(value) else None


def normalize_email(email: str) -> str | None:
    """Lower-cased, trimmed email, or None when it cannot be an address."""
    email = email.strip().lower()
    return email if _EMAIL.fullmatch(email) else None


def normalize_phone(phone: str) -> str | None:
    """E.164-style `+digits` (or bare digits when no country prefix was typed), or None."""
    compact = _PHONE_NOISE.sub("", phone.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 15:
        return None
    return compact


def normalize_pair(pair: str) -> str | None:
    """`btc-usdt`/`BTC_USDT` -> `BTC/USDT`, or None when it is not a pair symbol."""
    symbol = pair.strip().upper().replace("-", "/").replace("_", "/")
    return symbol if _PAIR.fullmatch(symbol) else None


def check_limit(limit: int) -> int:
    """The page size, which callers must keep between 1 and MAX_LIMIT."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def one_criterion(uid: str | None, email: str | None, phone: str | None) -> tuple[str, str]:
    """The single (field, value) an account lookup uses; giving none or several is a caller bug."""
    given = [(name, value) for name, value in (("uid", uid), ("email", email), ("phone", phone)) if value]
    if len(given) != 1:
        raise ValueError("find_account needs exactly one of uid, email or phone")
    return given[0]


def _one_line(text: str, limit: int) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


def check_action(uid: str, *, reason: str, actor: str, idempotency_key: str) -> ActionRequest:
    """Validated unlock/freeze arguments; raises ExchangeRejected(`invalid_request`) otherwise."""
    clean_uid = clean_reference(uid)
    # The key becomes an HTTP header: the reference alphabet keeps CR/LF and spaces out of it.
    key = idempotency_key if _REFERENCE.fullmatch(idempotency_key) else None
    clean_reason = _one_line(reason, 500)
    clean_actor = _one_line(actor, 128)
    if clean_uid is None:
        raise ExchangeRejected("invalid_request", "malformed uid")
    if key is None:
        raise ExchangeRejected("invalid_request", "idempotency key must be 1-128 of A-Z a-z 0-9 _ : -")
    if not clean_reason or not clean_actor:
        raise ExchangeRejected("invalid_request", "reason and actor are required")
    return ActionRequest(uid=clean_uid, reason=clean_reason, actor=clean_actor, idempotency_key=key)
