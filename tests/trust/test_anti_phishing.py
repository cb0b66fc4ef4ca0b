"""Anti-phishing codes: chosen by a signed-in customer, stored sealed, readable only with the key,
never audited by value, and a change is emailed to the customer."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select, text

from kefu.audit.models import AuditEvent
from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import Contact, IdentityKind
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from kefu.settings import Settings
from kefu.storage.envelope import Keyring
from kefu.trust.anti_phishing import check_code, code_for_address, do_set_code, read_code, rotate_codes
from kefu.trust.keys import keyring_from_settings
from tests.conftest import Database

CODE = "Blue Otter 42"


async def _customer(db: Database, email: str = "c@example.com") -> CustomerActor:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, email)
        return CustomerActor(contact_id=contact_id)


async def _set(db: Database, settings: Settings, actor: CustomerActor, code: str | None) -> None:
    async with transaction(db.sessionmaker) as session:
        await do_set_code(session, actor, code, keyring=keyring_from_settings(settings), settings=settings)


async def test_the_code_is_sealed_at_rest_and_read_back_for_its_owner(
    db: Database, settings: Settings
) -> None:
    actor = await _customer(db)
    await _set(db, settings, actor, f"  {CODE} ")
    keyring = keyring_from_settings(settings)
    async with db.sessionmaker() as session:
        raw = await session.scalar(text("SELECT anti_phishing_code_sealed FROM contacts"))
        assert raw is not None
        assert CODE.encode() not in bytes(raw)
        contact = await session.get(Contact, actor.contact_id)
        assert contact is not None
        assert read_code(contact, keyring) == CODE
        assert await code_for_address(session, "C@Example.com", keyring) == CODE
        assert await code_for_address(session, "someone@else.com", keyring) is None
        assert await code_for_address(session, "not an address", keyring) is None
        # Another master key cannot read it (and does not crash the email it would have gone into).
        assert read_code(contact, Keyring.derived("another secret")) is None
        audits = list(await session.scalars(select(AuditEvent)))
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
    assert [a.action for a in audits] == ["contact.anti_phishing_code_changed"]
    assert CODE not in str(audits[0].details)
    (job,) = jobs
    assert job.payload["template"] == "anti_phishing_code_changed"
    assert job.payload["to"] == "c@example.com"
    assert CODE not in str(job.payload)  # the notice never repeats the code


async def test_removing_the_code(db: Database, settings: Settings) -> None:
    actor = await _customer(db)
    await _set(db, settings, actor, CODE)
    await _set(db, settings, actor, None)
    async with db.sessionmaker() as session:
        contact = await session.get(Contact, actor.contact_id)
        assert contact is not None
        assert contact.anti_phishing_code_sealed is None
        assert read_code(contact, keyring_from_settings(settings)) is None


async def test_a_request_form_visitor_cannot_set_a_code(db: Database, settings: Settings) -> None:
    actor = await _customer(db)
    visitor = CustomerActor(contact_id=actor.contact_id, conversation_id=actor.contact_id)
    with pytest.raises(InvalidInput):
        await _set(db, settings, visitor, CODE)


@pytest.mark.parametrize(
    "bad", ["", "abc", "x" * 21, "<script>", "ab\u202ecd", "https://x.io", "code\x00zero", 1234]
)
def test_bad_codes_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput):
        check_code(bad)


@pytest.mark.parametrize("good", ["BLUE-42", "蓝色水獭", "my_code 7", "ＡＢＣＤ"])
def test_good_codes_in_any_script(good: str) -> None:
    assert check_code(good) == good


async def test_key_rotation_rewraps_codes_for_the_new_key(db: Database, settings: Settings) -> None:
    k1, k2, k3 = (
        f"{name}:{base64.b64encode(bytes([n]) * 32).decode()}" for n, name in enumerate(("k1", "k2", "k3"))
    )
    old = Keyring.parse(k1)
    new = Keyring.parse(f"{k2},{k1}")
    actor = await _customer(db)
    async with transaction(db.sessionmaker) as session:
        await do_set_code(session, actor, CODE, keyring=old, settings=settings)
    async with transaction(db.sessionmaker) as session:
        assert await rotate_codes(session, new) == (1, [])
    async with transaction(db.sessionmaker) as session:
        assert await rotate_codes(session, new) == (0, [])  # already under k2
    only_new = Keyring.parse(k2)
    async with db.sessionmaker() as session:
        contact = await session.get(Contact, actor.contact_id)
        assert contact is not None
        assert read_code(contact, only_new) == CODE
    # A code under a key nobody configured any more is reported, not lost.
    async with transaction(db.sessionmaker) as session:
        assert await rotate_codes(session, Keyring.parse(k3)) == (
            0,
            [actor.contact_id],
        )
