"""Who is chatting: signed visitor tokens for anonymous visitors, signed identities from the exchange.

A visitor token names a random visitor id, signed with the installation's secret key (itsdangerous),
so a reload continues the same chat and nobody can take over another visitor's chat by guessing.
An exchange's page may vouch for its signed-in user with HMAC-SHA256(user id) or an HS256 JWT keyed
with `KEFU_CHAT_IDENTITY_SECRET`; anything that does not verify is ignored (docs/chat-protocol.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt
from itsdangerous import BadSignature, URLSafeTimedSerializer

VISITOR_MAX_AGE: Final = timedelta(days=180)
# Exchanges mint identity JWTs per page view; a long-lived one is a leaked credential waiting to happen.
MAX_JWT_LIFETIME: Final = timedelta(hours=24)
_USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
_SALT: Final = "kefu.chat.visitor"


@dataclass(frozen=True)
class ChatCustomer:
    """The person behind a chat socket: always a visitor id, plus the exchange's user when signed."""

    visitor_id: uuid.UUID
    user_id: str | None = None
    name: str | None = None
    email: str | None = None

    @property
    def identified(self) -> bool:
        return self.user_id is not None


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def issue_visitor_token(secret: str, visitor_id: uuid.UUID) -> str:
    """A token naming `visitor_id`, verifiable by `read_visitor_token` for 180 days."""
    return str(_serializer(secret).dumps(visitor_id.hex))


def read_visitor_token(secret: str, token: object) -> uuid.UUID | None:
    """The visitor id of a token we issued; None for anything forged, expired, foreign or malformed."""
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        return None
    try:
        value = _serializer(secret).loads(token, max_age=int(VISITOR_MAX_AGE.total_seconds()))
        return uuid.UUID(hex=str(value))
    except (BadSignature, ValueError, TypeError):
        return None


def user_signature(secret: str, user_id: str) -> str:
    """What the exchange's server computes for `user_id`: hex HMAC-SHA256 keyed with the chat secret."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VerifiedUser:
    user_id: str
    name: str | None = None
    email: str | None = None


def _clean(value: object, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value and value.isprintable() else None


def verify_identity(claim: object, secret: str, *, now: datetime) -> VerifiedUser | None:
    """The user a signed claim vouches for, or None (no secret, unsigned, wrong or expired claim)."""
    if not secret or not isinstance(claim, dict):
        return None
    if "jwt" in claim:
        return _verify_jwt(claim["jwt"], secret, now=now)
    user_id, signature = claim.get("user_id"), claim.get("signature")
    if not isinstance(user_id, str) or not isinstance(signature, str) or not _USER_ID.fullmatch(user_id):
        return None
    if not hmac.compare_digest(user_signature(secret, user_id), signature.strip().lower()):
        return None
    return VerifiedUser(user_id)


def _verify_jwt(token: object, secret: str, *, now: datetime) -> VerifiedUser | None:
    if not isinstance(token, str) or len(token) > 4096:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],  # never "none", never an algorithm the token picks
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    subject, expires = claims.get("sub"), claims.get("exp")
    if (
        not isinstance(subject, str)
        or not _USER_ID.fullmatch(subject)
        or not isinstance(expires, int | float)
    ):
        return None
    if expires - now.timestamp() > MAX_JWT_LIFETIME.total_seconds():
        return None
    email = _clean(claims.get("email"), 320)
    if email is not None and "@" not in email:
        email = None
    return VerifiedUser(subject, name=_clean(claims.get("name"), 200), email=email)
