"""Finding or creating the contact behind an identity."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.core.clock import utcnow
from kefu.core.ids import new_id
from kefu.db.base import table_of
from kefu.db.upsert import insert_or_ignore

# Built once: hot paths reuse the compiled statement instead of rebuilding it per request.
_OWNER = select(ContactIdentity.contact_id).where(
    ContactIdentity.kind == bindparam("kind"), ContactIdentity.value == bindparam("value")
)
_INSERT_CONTACT = insert(table_of(Contact))


async def identity_owner(session: AsyncSession, kind: IdentityKind, value: str) -> uuid.UUID | None:
    """The contact holding a normalised identity, or None."""
    owner: uuid.UUID | None = (
        await (await session.connection()).execute(_OWNER, {"kind": kind, "value": value})
    ).scalar()
    return owner


async def do_add_identity(
    session: AsyncSession, contact_id: uuid.UUID, kind: IdentityKind, value: str
) -> bool:
    """Attach an identity to the contact unless any contact holds it already; returns whether it was added."""
    value = normalise_identity(kind, value)
    statement = insert_or_ignore(session, ContactIdentity, returning=("id",))
    row = {"id": new_id(), "contact_id": contact_id, "kind": kind, "value": value, "verified_at": None}
    result = await (await session.connection()).execute(statement, row)
    return result.scalar_one_or_none() is not None


async def do_resolve_contact(
    session: AsyncSession, kind: IdentityKind, value: str, *, name: str = "", locale: str = "en"
) -> tuple[uuid.UUID, bool]:
    """The id of the contact holding this identity, created if new; returns (id, created). Race-safe."""
    value = normalise_identity(kind, value)
    existing = await identity_owner(session, kind, value)
    if existing is not None:
        return existing, False
    return await do_create_contact(session, kind, value, name=name, locale=locale)


async def do_create_contact(
    session: AsyncSession, kind: IdentityKind, value: str, *, name: str = "", locale: str = "en"
) -> tuple[uuid.UUID, bool]:
    """Create a contact for a normalised identity found free: (id, True), or the racer's (id, False)."""
    contact_id = new_id()
    now = utcnow()
    await session.execute(
        _INSERT_CONTACT,
        {"id": contact_id, "name": name[:200], "locale": locale, "created_at": now, "updated_at": now},
    )
    if await do_add_identity(session, contact_id, kind, value):
        return contact_id, True
    # Another transaction claimed the identity meanwhile: drop our empty contact and use theirs.
    await session.execute(delete(Contact).where(Contact.id == contact_id))
    raced = await identity_owner(session, kind, value)
    assert raced is not None
    return raced, False
