"""Proving who you talk to: an agent sends a one-time code to the customer's registered email, the
customer enters it in the chat or My requests, and the conversation is verified for a while.

Codes are 6 digits, single use, valid `identity_code_minutes`, and only their keyed hash is stored.
A newer code revokes the older one; five wrong entries use a code up; an agent may send at most
`MAX_CODES_PER_HOUR` codes a conversation an hour and one a minute, so nobody can mail-bomb the customer.
Sensitive actions (unlock, freeze, contact changes) call `require_verified`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.conversations.acknowledge import contact_email
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, PermissionDenied, RateLimited
from kefu.i18n import DEFAULT_LOCALE, get_translator, normalise_locale
from kefu.inboxes.models import ChannelKind
from kefu.mail.outbox import queue_email
from kefu.settings import Settings
from kefu.trust.models import ChallengeMethod, IdentityChallenge

CODE_DIGITS: Final = 6
MAX_ATTEMPTS: Final = 5
MAX_CODES_PER_HOUR: Final = 5
RESEND_AFTER: Final = timedelta(seconds=60)


class CheckOutcome(StrEnum):
    """What entering a code did; the caller commits in every case (attempts must count)."""

    VERIFIED = "verified"
    WRONG = "wrong"
    NO_CODE = "no_code"  # nothing pending: never sent, expired, used up or already used


@dataclass(frozen=True, slots=True)
class CheckResult:
    outcome: CheckOutcome
    attempts_left: int = 0


def mask_email(address: str) -> str:
    """`alice@example.com` → `a***@example.com`: enough for the customer to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _hash(settings: Settings, challenge_id: object, code: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"identity-code:{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _clean_code(code: str) -> str:
    # People type "123 456" or paste full-width digits from an IME.
    digits = "".join(str(int(char)) for char in code if char.isdigit())
    return digits if len(digits) == CODE_DIGITS else ""


async def _recent_codes(session: AsyncSession, conversation: Conversation, since: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(IdentityChallenge.created_at).where(
            IdentityChallenge.conversation_id == conversation.id, IdentityChallenge.created_at >= since
        )
    )
    return list(rows)


async def do_send_code(
    session: AsyncSession,
    actor: AgentActor,
    conversation: Conversation,
    *,
    settings: Settings,
    ip: str | None = None,
) -> IdentityChallenge:
    """Email a new code to the conversation's customer; the caller has checked the agent's access."""
    now = utcnow()
    sent = await _recent_codes(session, conversation, now - timedelta(hours=1))
    if len(sent) >= MAX_CODES_PER_HOUR or any(at > now - RESEND_AFTER for at in sent):
        # Free again when the newest code is a minute old and, at the hourly cap, the oldest an hour.
        free_at = max(sent) + RESEND_AFTER
        if len(sent) >= MAX_CODES_PER_HOUR:
            free_at = max(free_at, min(sent) + timedelta(hours=1))
        retry = free_at - now
        raise RateLimited(
            "a code was sent moments ago or too many this hour; wait before sending another",
            retry_after=max(1, int(retry.total_seconds())),
        )
    address = await contact_email(session, conversation.contact_id)
    if address is None:
        raise Conflict("the customer has no registered email address to send a code to")
    await session.execute(
        update(IdentityChallenge)
        .where(
            IdentityChallenge.conversation_id == conversation.id,
            IdentityChallenge.consumed_at.is_(None),
            IdentityChallenge.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = settings.identity_code_minutes
    challenge = IdentityChallenge(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        method=ChallengeMethod.EMAIL,
        destination=mask_email(address),
        code_hash="",
        created_by_agent_id=actor.agent_id,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(challenge)
    await session.flush()
    challenge.code_hash = _hash(settings, challenge.id, code)
    await queue_email(
        session,
        template="identity_code",
        to=address,
        locale=conversation.locale,
        context={"reference": conversation.reference, "code": code, "minutes": minutes},
        idempotency_key=f"identity-code:{challenge.id}",
        reference=conversation.reference,
    )
    t = get_translator(normalise_locale(conversation.locale) or DEFAULT_LOCALE)
    await append_message(
        session,
        conversation,
        None,
        NewMessage(
            body=t.gettext(
                "To confirm it is really you, we emailed a 6-digit code to %(destination)s. Enter it here "
                "to verify. Never share this code with anyone, including people claiming to be support.",
                destination=challenge.destination,
            ),
            data={
                "identity_challenge": {
                    "id": str(challenge.id),
                    "destination": challenge.destination,
                    "expires_at": challenge.expires_at.isoformat(),
                }
            },
        ),
        author=AuthorKind.SYSTEM,
        channel=ChannelKind(conversation.channel),
    )
    await record_audit(
        session,
        action="conversation.identity_code_sent",
        actor=actor,
        target_type="conversation",
        target_id=str(conversation.id),
        ip=ip,
        details={"method": str(challenge.method), "destination": challenge.destination},
    )
    return challenge


async def pending_challenge(
    session: AsyncSession, conversation: Conversation, *, lock: bool = False
) -> IdentityChallenge | None:
    """The code the customer may enter now, if any (`lock`: for counting an attempt on it)."""
    now = utcnow()
    query = (
        select(IdentityChallenge)
        .where(
            IdentityChallenge.conversation_id == conversation.id,
            IdentityChallenge.contact_id == conversation.contact_id,
            IdentityChallenge.consumed_at.is_(None),
            IdentityChallenge.revoked_at.is_(None),
            IdentityChallenge.expires_at > now,
        )
        .order_by(IdentityChallenge.created_at.desc())
        .limit(1)
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def do_check_code(
    session: AsyncSession,
    actor: CustomerActor,
    conversation: Conversation,
    code: str,
    *,
    settings: Settings,
    ip: str | None = None,
) -> CheckResult:
    """The customer enters a code. Commit afterwards whatever the outcome: wrong attempts must count."""
    if actor.contact_id != conversation.contact_id:
        raise PermissionDenied("only the conversation's customer can enter its code")
    if not isinstance(code, str) or len(code) > 64:
        raise InvalidInput("enter the 6-digit code", fields={"code": "6 digits"})
    challenge = await pending_challenge(session, conversation, lock=True)
    if challenge is None:
        return CheckResult(CheckOutcome.NO_CODE)
    now = utcnow()
    challenge.attempts += 1
    cleaned = _clean_code(code)
    if not cleaned or not hmac.compare_digest(challenge.code_hash, _hash(settings, challenge.id, cleaned)):
        left = MAX_ATTEMPTS - challenge.attempts
        if left <= 0:
            challenge.revoked_at = now
        await record_audit(
            session,
            action="conversation.identity_code_failed",
            actor=actor,
            target_type="conversation",
            target_id=str(conversation.id),
            ip=ip,
            details={"attempts": challenge.attempts},
        )
        return CheckResult(CheckOutcome.WRONG, max(left, 0))
    challenge.consumed_at = now
    await append_message(
        session,
        conversation,
        None,
        NewMessage(
            body=f"Identity verified (email code to {challenge.destination}).",
            kind=MessageKind.EVENT,
            data={"identity_verified": {"method": str(challenge.method), "at": now.isoformat()}},
        ),
        author=AuthorKind.SYSTEM,
        channel=ChannelKind(conversation.channel),
    )
    await record_audit(
        session,
        action="conversation.identity_verified",
        actor=actor,
        target_type="conversation",
        target_id=str(conversation.id),
        ip=ip,
        details={"method": str(challenge.method)},
    )
    return CheckResult(CheckOutcome.VERIFIED)


@dataclass(frozen=True, slots=True)
class Verification:
    at: datetime
    method: ChallengeMethod
    until: datetime


async def verification_of(
    session: AsyncSession, conversation: Conversation, settings: Settings
) -> Verification | None:
    """The conversation's current verification (its customer entered a code recently), or None."""
    window = timedelta(hours=settings.identity_verified_hours)
    row = (
        await session.execute(
            select(IdentityChallenge.consumed_at, IdentityChallenge.method)
            .where(
                IdentityChallenge.conversation_id == conversation.id,
                IdentityChallenge.contact_id == conversation.contact_id,
                IdentityChallenge.consumed_at > utcnow() - window,
            )
            .order_by(IdentityChallenge.consumed_at.desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return Verification(at=row[0], method=ChallengeMethod(row[1]), until=row[0] + window)


async def require_verified(
    session: AsyncSession, conversation: Conversation, settings: Settings
) -> Verification:
    """The verification a sensitive action needs; PermissionDenied when the conversation has none."""
    verification = await verification_of(session, conversation, settings)
    if verification is None:
        raise PermissionDenied("verify the customer's identity in this conversation first (send a code)")
    return verification
