"""Secrets customers paste are removed before anything is stored, audited by kind, and explained to them."""

from __future__ import annotations

import uuid

import pytest
from mnemonic import Mnemonic
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.actions import do_add_message
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.redaction_notice import NOTICE
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.trust.scrubbing import configure_redaction
from tests.conftest import Database
from tests.factories import make_agent

SEED = Mnemonic("english").to_mnemonic(bytes(range(16)))
TX_HASH = "0x" + "ab12" * 16


async def _open(db: Database, body: str, *, subject: str = "", locale: str = "en") -> uuid.UUID:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "c@example.com")
        conversation, _, _ = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(body=body, subject=subject, locale=locale),
            channel=ChannelKind.CHAT,
        )
        return conversation.id


async def _messages(db: Database, conversation_id: uuid.UUID) -> list[Message]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        return list(rows)


async def _audits(db: Database) -> list[AuditEvent]:
    async with db.sessionmaker() as session:
        return list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "conversation.secret_redacted")
            )
        )


async def test_a_pasted_seed_phrase_never_reaches_the_table(db: Database) -> None:
    conversation_id = await _open(db, f"I lost access. My words: {SEED}. Deposit tx {TX_HASH}")
    first, notice = await _messages(db, conversation_id)
    assert SEED.split()[3] not in first.body
    assert "[redacted: seed phrase]" in first.body
    assert TX_HASH in first.body  # what support needs stays
    assert first.data["redacted"] == ["seed_phrase"]
    # The customer is told why, in the thread, by the system.
    assert notice.author_kind == AuthorKind.SYSTEM
    assert notice.kind == MessageKind.REPLY
    assert notice.data == {"notice": NOTICE, "kinds": ["seed_phrase"]}
    assert "seed phrase" in notice.body
    assert "scammer" in notice.body
    (audit,) = await _audits(db)
    assert audit.details["kinds"] == ["seed_phrase"]
    assert audit.details["where"] == "body"
    assert audit.target_id == str(conversation_id)
    # Never the value, anywhere in the audit trail.
    assert SEED.split()[5] not in str(audit.details)


async def test_the_notice_speaks_the_customers_language(db: Database) -> None:
    conversation_id = await _open(db, "我的密码是 Hunter2024!", locale="zh-CN")
    first, notice = await _messages(db, conversation_id)
    assert "Hunter2024!" not in first.body
    assert "密码" in notice.body
    assert "骗子" in notice.body


async def test_subject_and_form_fields_are_redacted_and_audited(db: Database) -> None:
    conversation_id = await _open(db, "please help", subject=f"seed {SEED}")
    async with db.sessionmaker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.subject == "seed [redacted: seed phrase]"
    audits = await _audits(db)
    assert [a.details["where"] for a in audits] == ["subject"]
    first, notice = await _messages(db, conversation_id)
    assert first.body == "please help"
    assert notice.data["kinds"] == ["seed_phrase"]


async def test_a_reply_is_redacted_once_and_a_retry_adds_no_second_notice(db: Database) -> None:
    conversation_id = await _open(db, "hello")
    for _ in range(2):
        async with transaction(db.sessionmaker) as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            actor = CustomerActor(contact_id=conversation.contact_id)
            await do_add_message(
                session,
                actor,
                conversation,
                NewMessage(body="2FA code 123456 and password: Tr0ub4dor&3", client_id="retry-1"),
                channel=ChannelKind.CHAT,
            )
    messages = await _messages(db, conversation_id)
    assert [m.author_kind for m in messages] == [AuthorKind.CUSTOMER, AuthorKind.CUSTOMER, AuthorKind.SYSTEM]
    reply = messages[1]
    assert "123456" not in reply.body
    assert "Tr0ub4dor&3" not in reply.body
    assert set(reply.data["redacted"]) == {"verification_code", "password"}
    assert len(await _audits(db)) == 1


async def test_agent_notes_are_redacted_and_audited_without_a_customer_notice(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    conversation_id = await _open(db, "hello")
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await do_add_message(
            session,
            agent.actor,
            conversation,
            NewMessage(body=f"customer pasted {SEED}", kind=MessageKind.NOTE),
            channel=ChannelKind.WEB,
        )
    messages = await _messages(db, conversation_id)
    assert len(messages) == 2
    assert "[redacted: seed phrase]" in messages[1].body
    (audit,) = await _audits(db)
    assert audit.actor_id is None  # written by the system path, not blamed on the customer


async def test_ordinary_support_text_is_untouched(db: Database) -> None:
    body = (
        "Order 1234567890123456789 on BTC/USDT failed at 2026-11-20 10:00. Address "
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, UID 88001234, amount 0.5 BTC, tx " + TX_HASH
    )
    conversation_id = await _open(db, body)
    messages = await _messages(db, conversation_id)
    assert [m.body for m in messages] == [body]
    assert await _audits(db) == []


async def test_operator_patterns_redact_exchange_api_secrets(db: Database) -> None:
    configure_redaction(r"\bexk_[A-Za-z0-9]{32}\b")
    try:
        conversation_id = await _open(db, "my key exk_" + "A1" * 16 + " stopped working")
    finally:
        configure_redaction("")
    first = (await _messages(db, conversation_id))[0]
    assert first.body == "my key [redacted: API secret] stopped working"


def test_a_bad_operator_pattern_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match=r"pattern|regular expression"):
        configure_redaction("(unclosed")
