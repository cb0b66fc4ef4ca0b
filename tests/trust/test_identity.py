"""One-time identity codes: sent by an agent to the registered email, single use, expiring, limited in
attempts and in how often they are sent; a verified conversation unlocks the sensitive account actions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_add_identity, do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationCreate
from kefu.core.clock import FrozenClock
from kefu.core.errors import Conflict, PermissionDenied, RateLimited
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.demo_data import ALICE
from kefu.integrations.exchange.schemas import AccountAction, AccountStatus
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from kefu.settings import Settings
from kefu.trust.account_actions import do_account_action
from kefu.trust.identity import (
    MAX_ATTEMPTS,
    CheckOutcome,
    do_check_code,
    do_send_code,
    require_verified,
    verification_of,
)
from kefu.trust.models import IdentityChallenge
from tests.conftest import Database
from tests.factories import StaffMember, make_agent

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
async def agent(db: Database) -> StaffMember:
    return await make_agent(db.sessionmaker, "li@kefu.test")


async def _conversation(
    db: Database, *, uid: str | None = ALICE, email: str | None = "c@example.com"
) -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.WIDGET, f"visitor-{uuid.uuid4()}")
        if email:
            await do_add_identity(session, contact_id, IdentityKind.EMAIL, email)
        if uid:
            await do_add_identity(session, contact_id, IdentityKind.EXCHANGE_UID, uid)
        conversation, _, _ = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(body="I think I was hacked"),
            channel=ChannelKind.CHAT,
        )
        return conversation.id


async def _send(db: Database, settings: Settings, agent: StaffMember, conversation_id: uuid.UUID) -> str:
    """Send a code; returns the code from the queued email (as the customer would read it)."""
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        challenge = await do_send_code(session, agent.actor, conversation, settings=settings)
        challenge_id = challenge.id
    async with db.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
    payload: dict[str, Any] = next(
        j.payload for j in jobs if j.payload["idempotency_key"] == f"identity-code:{challenge_id}"
    )
    assert payload["template"] == "identity_code"
    assert payload["to"] == "c@example.com"
    code: str = payload["context"]["code"]
    return code


async def _enter(db: Database, settings: Settings, conversation_id: uuid.UUID, code: str) -> Any:
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        actor = CustomerActor(contact_id=conversation.contact_id)
        return await do_check_code(session, actor, conversation, code, settings=settings)


async def _verified(db: Database, settings: Settings, conversation_id: uuid.UUID) -> bool:
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return await verification_of(session, conversation, settings) is not None


async def test_the_right_code_verifies_the_conversation_once(
    db: Database, settings: Settings, agent: StaffMember, clock: FrozenClock
) -> None:
    conversation_id = await _conversation(db)
    code = await _send(db, settings, agent, conversation_id)
    async with db.sessionmaker() as session:
        (stored,) = await session.scalars(select(IdentityChallenge))
        assert code not in stored.code_hash
        assert stored.destination == "c***@example.com"
        bodies = [m.body for m in await session.scalars(select(Message).order_by(Message.seq))]
    assert any("c***@example.com" in body for body in bodies)
    assert not await _verified(db, settings, conversation_id)
    spaced = f"{code[:3]} {code[3:]}"  # people type it in two groups
    assert (await _enter(db, settings, conversation_id, spaced)).outcome == CheckOutcome.VERIFIED
    assert await _verified(db, settings, conversation_id)
    # Single use.
    assert (await _enter(db, settings, conversation_id, code)).outcome == CheckOutcome.NO_CODE
    async with db.sessionmaker() as session:
        actions = [
            a.action for a in await session.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at))
        ]
        events = [m.data for m in await session.scalars(select(Message).order_by(Message.seq))]
    assert "conversation.identity_code_sent" in actions
    assert "conversation.identity_verified" in actions
    assert any("identity_verified" in data for data in events)
    # The verification lapses after the configured window.
    clock.advance(timedelta(hours=settings.identity_verified_hours, seconds=1))
    assert not await _verified(db, settings, conversation_id)


async def test_wrong_codes_count_and_use_the_code_up(
    db: Database, settings: Settings, agent: StaffMember
) -> None:
    conversation_id = await _conversation(db)
    code = await _send(db, settings, agent, conversation_id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in range(MAX_ATTEMPTS - 1, -1, -1):
        result = await _enter(db, settings, conversation_id, wrong)
        assert result.outcome == CheckOutcome.WRONG
        assert result.attempts_left == left
    # Even the right code is refused now: a new one must be sent.
    assert (await _enter(db, settings, conversation_id, code)).outcome == CheckOutcome.NO_CODE
    assert not await _verified(db, settings, conversation_id)


@pytest.mark.parametrize("garbage", ["", "abc", "12345", "1234567", "１２３４５６７", "0" * 64])
async def test_malformed_codes_are_wrong_answers(
    db: Database, settings: Settings, agent: StaffMember, garbage: str
) -> None:
    conversation_id = await _conversation(db)
    await _send(db, settings, agent, conversation_id)
    assert (await _enter(db, settings, conversation_id, garbage)).outcome == CheckOutcome.WRONG


async def test_a_code_expires(
    db: Database, settings: Settings, agent: StaffMember, clock: FrozenClock
) -> None:
    conversation_id = await _conversation(db)
    code = await _send(db, settings, agent, conversation_id)
    clock.advance(timedelta(minutes=settings.identity_code_minutes, seconds=1))
    assert (await _enter(db, settings, conversation_id, code)).outcome == CheckOutcome.NO_CODE


async def test_a_new_code_replaces_the_old_and_sending_is_limited(
    db: Database, settings: Settings, agent: StaffMember, clock: FrozenClock
) -> None:
    conversation_id = await _conversation(db)
    first = await _send(db, settings, agent, conversation_id)
    with pytest.raises(RateLimited):
        await _send(db, settings, agent, conversation_id)  # within a minute
    clock.advance(timedelta(seconds=61))
    second = await _send(db, settings, agent, conversation_id)
    if first != second:
        assert (await _enter(db, settings, conversation_id, first)).outcome == CheckOutcome.WRONG
    assert (await _enter(db, settings, conversation_id, second)).outcome == CheckOutcome.VERIFIED
    for _ in range(3):
        clock.advance(timedelta(seconds=61))
        await _send(db, settings, agent, conversation_id)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(RateLimited):
        await _send(db, settings, agent, conversation_id)  # five an hour


async def test_no_email_no_code(db: Database, settings: Settings, agent: StaffMember) -> None:
    conversation_id = await _conversation(db, email=None)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        with pytest.raises(Conflict):
            await do_send_code(session, agent.actor, conversation, settings=settings)


async def test_only_the_conversations_customer_may_enter_a_code(
    db: Database, settings: Settings, agent: StaffMember
) -> None:
    conversation_id = await _conversation(db)
    code = await _send(db, settings, agent, conversation_id)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        with pytest.raises(PermissionDenied):
            await do_check_code(
                session, CustomerActor(contact_id=uuid.uuid4()), conversation, code, settings=settings
            )


async def test_freeze_and_unlock_need_a_verified_conversation(
    db: Database, settings: Settings, agent: StaffMember
) -> None:
    exchange = DemoExchange()
    conversation_id = await _conversation(db)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        customer = CustomerActor(contact_id=conversation.contact_id)
        with pytest.raises(PermissionDenied):
            await require_verified(session, conversation, settings)
        with pytest.raises(PermissionDenied):
            await do_account_action(
                session, customer, conversation, AccountAction.FREEZE, exchange=exchange, settings=settings
            )
    code = await _send(db, settings, agent, conversation_id)
    await _enter(db, settings, conversation_id, code)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        customer = CustomerActor(contact_id=conversation.contact_id)
        # Customers freeze in one step; they never unlock.
        with pytest.raises(PermissionDenied):
            await do_account_action(
                session, customer, conversation, AccountAction.UNLOCK, exchange=exchange, settings=settings
            )
        result = await do_account_action(
            session, customer, conversation, AccountAction.FREEZE, exchange=exchange, settings=settings
        )
        assert result.status == AccountStatus.FROZEN
        again = await do_account_action(
            session, customer, conversation, AccountAction.FREEZE, exchange=exchange, settings=settings
        )
        assert again.action_id == result.action_id  # the same verification replays, not re-applies
    async with db.sessionmaker() as session:
        audits = [
            a for a in await session.scalars(select(AuditEvent)) if a.action == "exchange.account_freeze"
        ]
    assert audits
    assert audits[0].details["uid"] == ALICE


async def test_an_account_action_needs_a_linked_exchange_account(
    db: Database, settings: Settings, agent: StaffMember
) -> None:
    conversation_id = await _conversation(db, uid=None)
    code = await _send(db, settings, agent, conversation_id)
    await _enter(db, settings, conversation_id, code)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        with pytest.raises(Conflict):
            await do_account_action(
                session,
                agent.actor,
                conversation,
                AccountAction.FREEZE,
                exchange=DemoExchange(),
                settings=settings,
            )
