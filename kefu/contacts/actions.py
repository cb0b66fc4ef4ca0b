"""Finding or creating the contact behind an identity."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind


async def get_contact_by_identity(session: AsyncSession, kind: IdentityKind, value: str) -> Contact | None:
    """The contact owning an already-normalised identity, if any."""
    return await session.scalar(
        select(Contact)
        .join(ContactIdentity)
        .where(ContactIdentity.kind == kind, ContactIdentity.value == value)
    )


async def do_resolve_contact(
    session: AsyncSession, kind: IdentityKind, value: str, *, name: str = "", locale: str = "en"
) -> tuple[Contact, bool]:
    """The contact for this identity, created if new; returns (contact, created). Safe under races."""
    value = normalise_identity(kind, value)
    existing = await get_contact_by_identity(session, kind, value)
    if existing is not None:
        return existing, False
    contact = Contact(name=name[:200], locale=locale)
    contact.identities.append(ContactIdentity(kind=kind, value=value))
    try:
        async with session.begin_nested():
            session.add(contact)
            await session.flush()
    except IntegrityError:
        # Another request created the same identity meanwhile: use theirs.
        raced = await get_contact_by_identity(session, kind, value)
        if raced is None:
            raise
        return raced, False
    return contact, True


async def do_add_identity(session: AsyncSession, contact: Contact, kind: IdentityKind, value: str) -> bool:
    """Attach an identity to `contact` unless some contact already has it; returns whether it was added."""
    value = normalise_identity(kind, value)
    if await get_contact_by_identity(session, kind, value) is not None:
        return False
    contact.identities.append(ContactIdentity(kind=kind, value=value))
    await session.flush()
    return True
