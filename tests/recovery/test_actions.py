"""Recovery actions: submission opens a conversation with sealed sensitive attachments; a reviewer
claims and decides; approval unlocks through the exchange port first; the customer is emailed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority, Status
from kefu.core.errors import Conflict, InvalidInput
from kefu.db.uow import transaction
from kefu.integrations.exchange.errors import ExchangeRejected, ExchangeUnavailable
from kefu.integrations.exchange.schemas import AccountStatus
from kefu.jobs.models import OutboxJob
from kefu.recovery.access import access_recovery_case
from kefu.recovery.actions import do_claim_case, do_decide_case
from kefu.recovery.models import DocumentKind, RecoveryCase, RecoveryStatus
from kefu.recovery.reasons import Decision
from kefu.recovery.schemas import DecisionIn
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.recovery.helpers import make_reviewer, submit_case


async def _mails(runtime: Runtime, template: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(select(OutboxJob).where(OutboxJob.name == "mail.send"))
        return [job.payload for job in rows if job.payload.get("template") == template]


async def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def _decide(runtime: Runtime, reviewer: Any, case_id: Any, **fields: Any) -> RecoveryCase:
    async with transaction(runtime.sessionmaker) as session:
        case = await access_recovery_case(session, reviewer, case_id, for_update=True)
        return await do_decide_case(
            session,
            reviewer,
            case,
            DecisionIn(**fields),
            exchange=runtime.exchange,
            settings=runtime.settings,
        )


async def test_submission_opens_a_high_priority_conversation_with_sealed_sensitive_documents(
    runtime: Runtime,
) -> None:
    keyring = keyring_from_settings(runtime.settings)
    submitted = await submit_case(runtime, keyring)
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, submitted.conversation_id)
        assert conversation is not None
        assert conversation.category == Category.ACCOUNT_ACCESS
        assert conversation.priority == Priority.HIGH
        assert conversation.form_fields == {"uid": "10000002", "login_email": "bob.trader@example.com"}
        [first] = await session.scalars(select(Message).where(Message.conversation_id == conversation.id))
        assert "What happened: I lost my 2FA device" in first.body
        assert "Phone stolen" in first.body
        attachments = list(await session.scalars(select(Attachment).where(Attachment.message_id == first.id)))
        assert {a.id for a in attachments} == set(submitted.attachment_ids.values())
        assert all(a.sensitive for a in attachments)
        assert sorted(a.filename for a in attachments) == ["id_back.png", "id_front.jpg", "selfie.jpg"]
        for attachment in attachments:
            assert (await runtime.blobs.get(attachment.blob_key)).startswith(b"KFE1")
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.status == RecoveryStatus.SUBMITTED
        assert case.purge_after is None
    [ack] = await _mails(runtime, "recovery_received")
    assert ack["to"] == "bob.trader@example.com"
    assert ack["context"]["reference"] == submitted.reference
    assert ack["context"]["purge_days"] == 30
    assert "files" not in ack["context"]  # never a document in an email
    [submitted_event] = await _audit(runtime, "recovery.submitted")
    assert submitted_event.details["documents"] == ["id_front", "id_back", "selfie"]


async def test_claim_then_approve_unlocks_the_account_and_records_the_hold(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    async with transaction(runtime.sessionmaker) as session:
        case = await access_recovery_case(session, reviewer, submitted.case_id, for_update=True)
        await do_claim_case(session, reviewer, case)
        assert case.status == RecoveryStatus.IN_REVIEW
    bob = await runtime.exchange.find_account(uid="10000002")
    assert bob is not None
    assert bob.status == AccountStatus.LOCKED

    case = await _decide(
        runtime, reviewer, submitted.case_id, decision=Decision.APPROVE, template="2fa_reset", note="ok"
    )
    assert case.status == RecoveryStatus.APPROVED
    assert case.unlocked_uid == "10000002"
    assert case.unlock_action_id
    assert case.decided_at is not None
    assert case.security_hold_until is not None
    assert case.security_hold_until - case.decided_at == timedelta(hours=24)
    assert case.security_hold_reason == "withdrawals_24h_after_2fa_reset"
    assert case.purge_after == case.decided_at + timedelta(days=30)
    unlocked = await runtime.exchange.find_account(uid="10000002")
    assert unlocked is not None
    assert unlocked.status == AccountStatus.ACTIVE

    [mail] = await _mails(runtime, "recovery_decided")
    assert mail["context"]["outcome"] == "approved"
    assert mail["context"]["hold_reason"] == "Withdrawals are locked for 24 hours after a 2FA reset."
    assert mail["context"]["hold_until"]
    [approved] = await _audit(runtime, "recovery.approved")
    assert approved.actor_id == reviewer.agent_id
    assert approved.details["unlock_action_id"] == case.unlock_action_id
    async with runtime.sessionmaker() as session:
        events = list(
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == submitted.conversation_id, Message.kind == MessageKind.EVENT
                )
            )
        )
    [event] = [e for e in events if e.data.get("field") == "recovery"]
    assert event.data["from"] == "in_review"
    assert event.data["to"] == "approved"
    assert event.author_agent_id == reviewer.agent_id

    with pytest.raises(Conflict):
        await _decide(runtime, reviewer, submitted.case_id, decision=Decision.REJECT, template="mismatch")


async def test_a_refused_unlock_leaves_the_case_open_and_is_audited(runtime: Runtime) -> None:
    # Carol's account is frozen by compliance: support cannot unlock it.
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings), uid="10000003")
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    with pytest.raises(ExchangeRejected):
        await _decide(runtime, reviewer, submitted.case_id, decision=Decision.APPROVE, template="unlocked")
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.status == RecoveryStatus.SUBMITTED
        assert case.decided_at is None
        assert case.purge_after is None
    [failed] = await _audit(runtime, "recovery.unlock_failed")
    assert failed.details["error"] == "account_frozen"
    assert await _mails(runtime, "recovery_decided") == []


async def test_an_unreachable_exchange_leaves_the_case_open(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")

    async def down(*args: object, **kwargs: object) -> None:
        raise ExchangeUnavailable("timed out")

    monkeypatch.setattr(runtime.exchange, "unlock_account", down)
    with pytest.raises(ExchangeUnavailable):
        await _decide(runtime, reviewer, submitted.case_id, decision=Decision.APPROVE, template="unlocked")
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.status == RecoveryStatus.SUBMITTED


async def test_approval_needs_an_account_and_a_fitting_template(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings), uid=None)
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    with pytest.raises(InvalidInput):
        await _decide(runtime, reviewer, submitted.case_id, decision=Decision.APPROVE, template="unlocked")
    with pytest.raises(ValueError, match="other decision"):
        DecisionIn(decision=Decision.APPROVE, template="mismatch")
    with pytest.raises(ValueError, match="unknown reason template"):
        DecisionIn(decision=Decision.REJECT, template="<script>")
    # The reviewer may name the account the exchange lookup found by email.
    case = await _decide(
        runtime, reviewer, submitted.case_id, decision=Decision.APPROVE, template="unlocked", uid="10000002"
    )
    assert case.unlocked_uid == "10000002"


async def test_rejection_tells_the_customer_in_their_language_and_unlocks_nothing(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings), locale="zh-CN")
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    case = await _decide(runtime, reviewer, submitted.case_id, decision=Decision.REJECT, template="selfie")
    assert case.status == RecoveryStatus.REJECTED
    assert case.unlocked_uid is None
    assert case.security_hold_until is None
    assert case.reviewer_id == reviewer.agent_id
    [mail] = await _mails(runtime, "recovery_decided")
    assert mail["locale"] == "zh-CN"
    assert mail["context"]["outcome"] == "rejected"
    assert mail["context"]["hold_reason"] is None
    bob = await runtime.exchange.find_account(uid="10000002")
    assert bob is not None
    assert bob.status == AccountStatus.LOCKED
    assert DocumentKind.SELFIE in submitted.attachment_ids
    # The customer also reads the decision in My requests, and the request is solved.
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, submitted.conversation_id)
        assert conversation is not None
        assert conversation.status == Status.SOLVED
        replies = list(
            await session.scalars(
                select(Message).where(
                    Message.conversation_id == submitted.conversation_id,
                    Message.author_kind == AuthorKind.SYSTEM,
                    Message.kind == MessageKind.REPLY,
                )
            )
        )
    [told] = [m for m in replies if m.data.get("recovery_decision") == "rejected"]
    assert told.body
    assert told.body.isascii() is False  # in Chinese, the customer's language
