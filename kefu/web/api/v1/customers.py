"""Customer tokens for an exchange's own backend, which has already authenticated its user."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from kefu.auth.customer_tokens import CUSTOMER_TOKEN_MAX_AGE, issue_customer_token
from kefu.conversations.create import resolve_customer
from kefu.conversations.schemas import CustomerIn
from kefu.web.deps import Admin, DbSession, SettingsDep

router = APIRouter(prefix="/customers", tags=["customers"])


class CustomerTokenOut(BaseModel):
    contact_id: uuid.UUID
    customer_token: str
    expires_in: int


@router.post("/tokens", status_code=201, response_model=CustomerTokenOut)
async def issue_token(
    body: CustomerIn, actor: Admin, session: DbSession, settings: SettingsDep
) -> CustomerTokenOut:
    """Admin tokens only (the exchange backend): a token for every conversation of that customer.

    The caller vouches for the identity, so the token is not limited to one conversation.
    """
    del actor
    contact_id = await resolve_customer(session, body, locale="en")
    token = issue_customer_token(settings.secret_key, contact_id, None)
    return CustomerTokenOut(contact_id=contact_id, customer_token=token, expires_in=CUSTOMER_TOKEN_MAX_AGE)
