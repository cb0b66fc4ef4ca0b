"""Customer sign-in for "My requests": a six-digit code or a magic link mailed to the address.

Every answer is the same whether or not the address has requests with us: a row is written (and
rate limits charged) for unknown addresses too, only no email leaves. A code is single use, expires,
allows a few wrong guesses and is superseded by the next code sent to the same address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from pydantic import SecretStr
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.models import MAX_IP_LENGTH, CustomerSignInCode
from kefu.auth.service import digest
from kefu.contacts.actions import identity_owner
from kefu.contacts.identities import normalise_email
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, RateLimited
from kefu.core.ids import new_id, new_token
from kefu.mail.outbox import queue_email

CODE_TTL: Final = timedelta(minutes=15)
CODE_DIGITS: Final = 6
MAX_CODE_ATTEMPTS: Final = 5
RATE_WINDOW: Final = timedelta(hours=1)
MAX_CODES_PER_EMAIL: Final = 5
MAX_CODES_PER_IP: Final = 20
# Anything longer is not a link token we issued; refuse before hashing attacker-sized input.
MAX_LINK_TOKEN_LENGTH: Final = 128


@dataclass(frozen=True)
class SignedIn:
    """Who a correct code or link proved to be: the contact owning the address."""

    contact_id: uuid.UUID
    email: str


def code_digest(secret: SecretStr, row_id: uuid.UUID, code: str) -> str:
    """The stored form of a code: keyed by the secret and the row, so digests cannot be precomputed."""
    key = secret.get_secret_value().encode()
    return hmac.new(key, f"{row_id}:{code}".encode(), hashlib.sha256).hexdigest()


def clean_code(text: str) -> str | None:
    """The six digits a customer typed (spaces and dashes allowed), or None if it cannot be a code."""
    if len(text) > 32:
        return None
    digits = "".join(ch for ch in text if ch not in " -")
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


async def _check_rate(session: AsyncSession, email: str, ip: str | None, now: datetime) -> None:
    since = now - RATE_WINDOW
    recent = select(func.count()).select_from(CustomerSignInCode).where(CustomerSignInCode.created_at > since)
    by_email = await session.scalar(recent.where(CustomerSignInCode.email == email)) or 0
    by_ip = await session.scalar(recent.where(CustomerSignInCode.ip == ip)) or 0 if ip else 0
    if by_email >= MAX_CODES_PER_EMAIL or by_ip >= MAX_CODES_PER_IP:
        raise RateLimited("Too many sign-in codes were requested. Try again later.", retry_after=900)


async def do_request_sign_in(
    session: AsyncSession,
    *,
    email: str,
    locale: str,
    ip: str | None,
    secret: SecretStr,
    link_url: Callable[[str], str],
) -> None:
    """Mail a code and magic link if the address belongs to a contact; the same outcome otherwise.

    Raises InvalidInput for something that is not an email address and RateLimited when the address or
    client asked too often. `link_url` turns the link token into the URL the email carries.
    """
    address = normalise_email(email)
    now = utcnow()
    await _check_rate(session, address, ip, now)
    contact_id = await identity_owner(session, IdentityKind.EMAIL, address)
    # Only the newest code works: an older email lying in the inbox is dead once a new one is asked for.
    await session.execute(
        update(CustomerSignInCode)
        .where(CustomerSignInCode.email == address, CustomerSignInCode.used_at.is_(None))
        .values(used_at=now)
    )
    row_id = new_id()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    link_token = new_token()
    session.add(
        CustomerSignInCode(
            id=row_id,
            email=address,
            contact_id=contact_id,
            code_digest=code_digest(secret, row_id, code),
            link_digest=digest(link_token),
            ip=ip[:MAX_IP_LENGTH] if ip else None,
            attempts=0,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    if contact_id is None:
        return
    await queue_email(
        session,
        template="customer_sign_in",
        to=address,
        locale=locale,
        context={
            "code": code,
            "link": link_url(link_token),
            "minutes": int(CODE_TTL.total_seconds() // 60),
        },
        idempotency_key=f"customer-sign-in:{row_id}",
    )


async def _mark_verified(session: AsyncSession, signed_in: SignedIn, now: datetime) -> None:
    await session.execute(
        update(ContactIdentity)
        .where(
            ContactIdentity.kind == IdentityKind.EMAIL,
            ContactIdentity.value == signed_in.email,
            ContactIdentity.verified_at.is_(None),
        )
        .values(verified_at=now)
    )


async def do_check_sign_in_code(
    session: AsyncSession, *, email: str, code: str, secret: SecretStr
) -> SignedIn | None:
    """The contact a correct code proves, consuming it; None for a wrong, used or expired code.

    A wrong guess is counted in the caller's transaction, which must therefore commit on a None answer.
    """
    try:
        address = normalise_email(email)
    except InvalidInput:
        return None
    now = utcnow()
    row = await session.scalar(
        select(CustomerSignInCode)
        .where(
            CustomerSignInCode.email == address,
            CustomerSignInCode.used_at.is_(None),
            CustomerSignInCode.expires_at > now,
        )
        .order_by(CustomerSignInCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        return None
    digits = clean_code(code)
    if digits is None or not hmac.compare_digest(row.code_digest, code_digest(secret, row.id, digits)):
        row.attempts += 1
        if row.attempts >= MAX_CODE_ATTEMPTS:
            row.used_at = now  # burnt: ask for a new code
        return None
    row.used_at = now
    if row.contact_id is None:
        return None
    signed_in = SignedIn(row.contact_id, row.email)
    await _mark_verified(session, signed_in, now)
    return signed_in


async def do_redeem_sign_in_link(session: AsyncSession, token: str) -> SignedIn | None:
    """The contact a magic link proves, consuming it (and its code); None when unknown, used or expired."""
    if not token or len(token) > MAX_LINK_TOKEN_LENGTH:
        return None
    now = utcnow()
    row = await session.scalar(
        select(CustomerSignInCode)
        .where(
            CustomerSignInCode.link_digest == digest(token),
            CustomerSignInCode.used_at.is_(None),
            CustomerSignInCode.expires_at > now,
        )
        .with_for_update()
    )
    if row is None or row.contact_id is None:
        return None
    row.used_at = now
    signed_in = SignedIn(row.contact_id, row.email)
    await _mark_verified(session, signed_in, now)
    return signed_in


async def purge_spent_sign_in_codes(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete codes that can no longer be used and no longer count towards rate limits."""
    cutoff = (now or utcnow()) - max(RATE_WINDOW, CODE_TTL)
    result = await session.execute(delete(CustomerSignInCode).where(CustomerSignInCode.expires_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
