"""Signed customer tokens: how a customer (or an exchange's backend on their behalf) follows conversations.

A token proves either a verified identity of the contact (all their conversations) or only that the
holder opened one particular conversation (an unverified email typed into a request form).
"""

from __future__ import annotations

import uuid

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import SecretStr

from kefu.auth.actors import CustomerActor

CUSTOMER_TOKEN_PREFIX = "kfc_"  # noqa: S105 - a marker, not a secret
_SALT = "kefu.customer-token.v1"
CUSTOMER_TOKEN_MAX_AGE = 90 * 24 * 3600


def _serializer(secret: SecretStr) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret.get_secret_value(), salt=_SALT)


def issue_customer_token(secret: SecretStr, contact_id: uuid.UUID, conversation_id: uuid.UUID | None) -> str:
    """A token for the contact, limited to one conversation unless `conversation_id` is None."""
    claims = {"c": str(contact_id), "v": str(conversation_id) if conversation_id else None}
    return CUSTOMER_TOKEN_PREFIX + _serializer(secret).dumps(claims)


def read_customer_token(
    secret: SecretStr, token: str, *, max_age: int = CUSTOMER_TOKEN_MAX_AGE
) -> CustomerActor | None:
    """The actor a token stands for, or None when it is forged, expired or malformed."""
    if not token.startswith(CUSTOMER_TOKEN_PREFIX) or len(token) > 512:
        return None
    try:
        claims = _serializer(secret).loads(token[len(CUSTOMER_TOKEN_PREFIX) :], max_age=max_age)
        contact_id = uuid.UUID(claims["c"])
        conversation_id = uuid.UUID(claims["v"]) if claims.get("v") else None
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return CustomerActor(contact_id=contact_id, conversation_id=conversation_id)
