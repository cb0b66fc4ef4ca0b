"""Customer browser sessions (My requests): created after an emailed code or link, revocable.

Like agent sessions, only the sha256 digest of the cookie value is stored. A customer session proves
the email address, so it grants every conversation of the contact owning that address.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.auth.customer_login import SignedIn
from kefu.auth.models import MAX_IP_LENGTH, MAX_USER_AGENT_LENGTH, CustomerSession
from kefu.auth.service import digest
from kefu.core.clock import utcnow
from kefu.core.ids import new_token

CUSTOMER_SESSION_TTL: Final = timedelta(days=14)
# Writing last_seen_at on every request would turn each page view into a write.
LAST_SEEN_RESOLUTION: Final = timedelta(minutes=5)
MAX_TOKEN_LENGTH: Final = 256
# Revoked and expired rows are kept this long for the audit trail, then purged.
KEEP_ENDED_SESSIONS: Final = timedelta(days=30)


async def create_customer_session(
    session: AsyncSession, signed_in: SignedIn, *, ip: str | None, user_agent: str | None
) -> tuple[CustomerSession, str]:
    """A new session for the proven contact; returns the row and the cookie value."""
    token = new_token()
    now = utcnow()
    row = CustomerSession(
        id=digest(token),
        contact_id=signed_in.contact_id,
        email=signed_in.email,
        created_at=now,
        last_seen_at=now,
        expires_at=now + CUSTOMER_SESSION_TTL,
        ip=ip[:MAX_IP_LENGTH] if ip else None,
        user_agent=user_agent[:MAX_USER_AGENT_LENGTH] if user_agent else None,
    )
    session.add(row)
    await session.flush()
    return row, token


async def get_customer_session(session: AsyncSession, token: str) -> CustomerSession | None:
    """The live (unrevoked, unexpired) session of a cookie value, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await session.get(CustomerSession, digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def resolve_customer_session(session: AsyncSession, token: str) -> CustomerActor | None:
    """The customer a cookie stands for (all their conversations), or None."""
    row = await get_customer_session(session, token)
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return CustomerActor(contact_id=row.contact_id)


async def do_end_customer_session(session: AsyncSession, token: str) -> bool:
    """Sign out: revoke the session of a cookie value; True if one was live."""
    row = await get_customer_session(session, token)
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


async def purge_ended_customer_sessions(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete sessions that ended (expired or revoked) more than KEEP_ENDED_SESSIONS ago."""
    cutoff = (now or utcnow()) - KEEP_ENDED_SESSIONS
    result = await session.execute(
        delete(CustomerSession).where(
            or_(CustomerSession.expires_at < cutoff, CustomerSession.revoked_at < cutoff)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
