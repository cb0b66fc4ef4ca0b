"""Anti-phishing codes: a phrase the customer chooses, shown in every email and chat header from support.

A scammer who copies our emails or widget cannot know it, so a message without it is not from us.
The code is envelope-encrypted on the contact row (context binds it to that contact) and never logged
or audited by value; changing it emails the customer, in case someone else did.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import CustomerActor
from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations.acknowledge import contact_email, my_requests_url
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, NotFound
from kefu.mail.outbox import queue_email
from kefu.settings import Settings
from kefu.storage.envelope import DecryptionFailed, Keyring, open_text, rewrap, seal_text, sealed_key_id

MIN_LENGTH: Final = 4
MAX_LENGTH: Final = 20


def _context(contact_id: uuid.UUID) -> bytes:
    return f"anti-phishing:{contact_id}".encode()


def check_code(value: object) -> str:
    """A code of 4..20 letters (any script), digits, spaces, '-' or '_'; surrounding spaces dropped."""
    if not isinstance(value, str):
        raise InvalidInput("the anti-phishing code must be text", fields={"code": "not text"})
    code = " ".join(value.split())
    if not MIN_LENGTH <= len(code) <= MAX_LENGTH:
        raise InvalidInput(
            f"the anti-phishing code is {MIN_LENGTH} to {MAX_LENGTH} characters",
            fields={"code": f"{MIN_LENGTH}..{MAX_LENGTH} characters"},
        )
    if not all(char.isalnum() or char in " -_" for char in code):
        raise InvalidInput(
            "use letters, digits, spaces, '-' or '_' only",
            fields={"code": "letters, digits, spaces, - and _ only"},
        )
    return code


def read_code(contact: Contact, keyring: Keyring) -> str | None:
    """The contact's code in clear, or None when unset (or sealed under a key no longer configured)."""
    return _open_code(contact.id, contact.anti_phishing_code_sealed, keyring)


def _open_code(contact_id: uuid.UUID, sealed: bytes | None, keyring: Keyring) -> str | None:
    if sealed is None:
        return None
    try:
        return open_text(keyring, sealed, context=_context(contact_id))
    except DecryptionFailed:
        return None


async def code_for_address(session: AsyncSession, address: str, keyring: Keyring) -> str | None:
    """The code of the customer who owns the email `address` (for the emails support sends them)."""
    try:
        address = normalise_identity(IdentityKind.EMAIL, address)
    except InvalidInput:
        return None
    # Two columns, not the Contact: every outgoing email asks, and the entity would load its relations.
    row = (
        await session.execute(
            select(Contact.id, Contact.anti_phishing_code_sealed)
            .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
            .where(ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value == address)
            .limit(1)
        )
    ).first()
    return _open_code(row.id, row.anti_phishing_code_sealed, keyring) if row is not None else None


async def do_set_code(
    session: AsyncSession,
    actor: CustomerActor,
    code: str | None,
    *,
    keyring: Keyring,
    settings: Settings,
    ip: str | None = None,
) -> Contact:
    """Set (or with None, remove) the signed-in customer's code; audited and emailed to them."""
    if actor.conversation_id is not None:
        # A request-form visitor only proved one conversation, not ownership of the contact.
        raise InvalidInput("sign in to My requests to set an anti-phishing code")
    contact = await session.get(Contact, actor.contact_id, with_for_update=True)
    if contact is None:
        raise NotFound("no such customer")
    now = utcnow()
    if code is None:
        contact.anti_phishing_code_sealed = None
    else:
        contact.anti_phishing_code_sealed = seal_text(keyring, check_code(code), context=_context(contact.id))
    contact.anti_phishing_code_set_at = now
    await record_audit(
        session,
        action="contact.anti_phishing_code_changed"
        if code is not None
        else "contact.anti_phishing_code_removed",
        actor=actor,
        target_type="contact",
        target_id=str(contact.id),
        ip=ip,
    )
    address = await contact_email(session, contact.id)
    if address is not None:
        await queue_email(
            session,
            template="anti_phishing_code_changed",
            to=address,
            locale=contact.locale,
            context={
                "changed_at": now.isoformat(),
                "requests_url": my_requests_url(settings.base_url, contact.locale),
            },
            idempotency_key=f"anti-phishing-changed:{contact.id}:{now.timestamp()}",
        )
    return contact


async def rotate_codes(session: AsyncSession, keyring: Keyring) -> tuple[int, list[uuid.UUID]]:
    """Re-wrap every sealed code not under the active key; (how many, contacts whose code failed).

    The data key is re-wrapped, the code itself is not re-encrypted; a code sealed under a key no
    longer configured is reported, never dropped.
    """
    rows = await session.scalars(select(Contact).where(Contact.anti_phishing_code_sealed.is_not(None)))
    rewrapped, failed = 0, []
    for contact in rows:
        sealed = contact.anti_phishing_code_sealed
        assert sealed is not None
        try:
            if sealed_key_id(sealed) == keyring.active_id:
                continue
            contact.anti_phishing_code_sealed = rewrap(keyring, sealed, context=_context(contact.id))
        except DecryptionFailed:
            failed.append(contact.id)
            continue
        rewrapped += 1
    return rewrapped, failed
