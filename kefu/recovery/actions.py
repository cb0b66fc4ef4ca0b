"""State changes of recovery cases: submission, a reviewer claiming a case, the decision.

Actions never commit. The decision calls the exchange (unlock) before changing anything, so a refused
or failed unlock leaves the case open; the failure is audited in its own transaction.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.audit.models import AuditActorType
from kefu.auth.actors import AgentActor
from kefu.conversations.actions import do_update_conversation
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_open_as_visitor
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate, ConversationUpdate, CustomerIn
from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.db.uow import independent_transaction
from kefu.i18n import DEFAULT_LOCALE, get_translator, normalise_locale
from kefu.inboxes.models import ChannelKind
from kefu.integrations.exchange.errors import ExchangeError, ExchangeRejected
from kefu.integrations.exchange.port import ExchangePort
from kefu.recovery.documents import SealedDocument
from kefu.recovery.models import OPEN_STATUSES, RecoveryCase, RecoveryDocument, RecoveryStatus
from kefu.recovery.notices import queue_recovery_decided, queue_recovery_received
from kefu.recovery.reasons import HOLD_REASONS, TEMPLATES, Decision, reason_labels
from kefu.recovery.schemas import DecisionIn, RecoverySubmission
from kefu.settings import Settings
from kefu.storage.uploads import StoredFile


def _opening_body(submission: RecoverySubmission) -> str:
    """The first message: the customer's answers in their language (what agents and they see)."""
    t = get_translator(submission.locale)
    lines = [t.gettext("What happened: %(reason)s", reason=reason_labels(t)[submission.reason])]
    if submission.exchange_uid:
        lines.append(t.gettext("Exchange UID: %(uid)s", uid=submission.exchange_uid))
    if submission.phone:
        lines.append(t.gettext("Phone: %(phone)s", phone=submission.phone))
    if submission.description:
        lines += ["", submission.description]
    return "\n".join(lines)


def _stored(document: SealedDocument) -> StoredFile:
    return StoredFile(
        key=document.blob_key,
        size=document.size,
        content_type=document.content_type,
        filename=document.filename,
        is_image=True,
        width=document.width,
        height=document.height,
    )


async def do_submit_recovery(
    session: AsyncSession,
    submission: RecoverySubmission,
    documents: list[SealedDocument],
    *,
    settings: Settings,
    ip: str | None = None,
) -> tuple[RecoveryCase, Conversation]:
    """Open the case: a high-priority account-access conversation whose first message carries the
    sealed documents as sensitive attachments, the case and document rows, the acknowledgement email.

    The documents were sealed for their attachment ids and stored already (`store_sealed_documents`).
    """
    if not documents:
        raise InvalidInput("identity documents are required")
    t = get_translator(submission.locale)
    form_fields: dict[str, object] = {"login_email": str(submission.email)}
    if submission.exchange_uid:
        form_fields["uid"] = submission.exchange_uid
    data = ConversationCreate(
        subject=t.gettext("Account recovery request"),
        body=_opening_body(submission),
        category=Category.ACCOUNT_ACCESS,
        priority=Priority.HIGH,
        locale=submission.locale,
        customer=CustomerIn(email=submission.email),
        form_fields=form_fields,
    )
    conversation, _created, first = await do_open_as_visitor(session, data, channel=ChannelKind.WEB)
    if first is None:  # only a replayed client_id returns no message, and none was given
        raise Conflict("the request was already submitted")
    attachments = await do_attach_files(
        session,
        conversation,
        first,
        [_stored(d) for d in documents],
        sensitive=True,
        ids=[d.attachment_id for d in documents],
    )
    case = RecoveryCase(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        email=str(submission.email),
        exchange_uid=submission.exchange_uid,
        phone=submission.phone,
        reason=submission.reason,
        description=submission.description,
        locale=submission.locale,
        consented_at=utcnow(),
        status=RecoveryStatus.SUBMITTED,
    )
    session.add(case)
    await session.flush()
    session.add_all(
        RecoveryDocument(case_id=case.id, attachment_id=a.id, kind=d.kind, key_id=d.key_id)
        for d, a in zip(documents, attachments, strict=True)
    )
    await record_audit(
        session,
        action="recovery.submitted",
        actor=None,
        actor_type=AuditActorType.ANONYMOUS,
        target_type="recovery_case",
        target_id=str(case.id),
        ip=ip,
        details={"reference": conversation.reference, "documents": [str(d.kind) for d in documents]},
    )
    await queue_recovery_received(session, case, conversation.reference, settings=settings)
    return case, conversation


def _check_open(case: RecoveryCase) -> None:
    if RecoveryStatus(case.status) not in OPEN_STATUSES:
        raise Conflict("this case was already decided")


async def do_claim_case(session: AsyncSession, actor: AgentActor, case: RecoveryCase) -> RecoveryCase:
    """Make `actor` the case's reviewer (taking it over from another reviewer is allowed and audited)."""
    _check_open(case)
    previous = case.reviewer_id
    if previous == actor.agent_id and case.status == RecoveryStatus.IN_REVIEW:
        return case
    case.status = RecoveryStatus.IN_REVIEW
    case.reviewer_id = actor.agent_id
    case.claimed_at = utcnow()
    await record_audit(
        session,
        action="recovery.claimed",
        actor=actor,
        target_type="recovery_case",
        target_id=str(case.id),
        details={"previous_reviewer_id": str(previous) if previous else None},
    )
    return case


async def _unlock(
    session: AsyncSession,
    actor: AgentActor,
    case: RecoveryCase,
    uid: str,
    reference: str,
    exchange: ExchangePort,
) -> tuple[str, str]:
    """Ask the exchange to unlock `uid`; returns (uid, action id). Failures are audited, then raised."""
    # The same reviewer retrying the same account replays the exchange's first answer (a commit that
    # failed after the unlock is safe to retry); the digest keeps the key within the port's 128 characters.
    who = hashlib.sha256(f"{actor.agent_id}:{uid}".encode()).hexdigest()[:24]
    key = f"kefu-recovery:{case.id.hex}:{who}"
    try:
        result = await exchange.unlock_account(
            uid,
            reason=f"Account recovery {reference}",
            actor=f"kefu agent {actor.agent_id}",
            idempotency_key=key,
        )
    except ExchangeError as exc:
        code = exc.exchange_code if isinstance(exc, ExchangeRejected) else exc.code
        # The request rolls back with the error: the failed attempt is kept in its own transaction.
        async with independent_transaction(session) as own:
            await record_audit(
                own,
                action="recovery.unlock_failed",
                actor=actor,
                target_type="recovery_case",
                target_id=str(case.id),
                details={"uid": uid, "error": code, "message": exc.message[:300]},
            )
        raise
    return result.uid, result.action_id


async def do_decide_case(
    session: AsyncSession,
    actor: AgentActor,
    case: RecoveryCase,
    decision: DecisionIn,
    *,
    exchange: ExchangePort,
    settings: Settings,
) -> RecoveryCase:
    """Approve (the exchange unlocks the account first) or reject an open case, with a reason template.

    Records the decision, the security hold and the purge date; audits it, adds an event to the
    conversation's timeline and queues the customer's email. ExchangeError leaves the case unchanged.
    """
    _check_open(case)
    conversation = await session.get(Conversation, case.conversation_id)
    if conversation is None:
        raise NotFound("recovery case not found")
    template = TEMPLATES[decision.template]
    previous = RecoveryStatus(case.status)
    now = utcnow()
    if decision.decision == Decision.APPROVE:
        uid = decision.uid or case.exchange_uid
        if not uid:
            raise InvalidInput(
                "name the exchange account to unlock", fields={"uid": "the customer gave no UID"}
            )
        case.unlocked_uid, case.unlock_action_id = await _unlock(
            session, actor, case, uid, conversation.reference, exchange
        )
        case.status = RecoveryStatus.APPROVED
        if template.hold is not None:
            case.security_hold_until = now + template.hold
            case.security_hold_reason = template.hold_reason
    else:
        case.status = RecoveryStatus.REJECTED
    case.reviewer_id = actor.agent_id
    case.claimed_at = case.claimed_at or now
    case.decision_template = template.key
    case.decision_note = decision.note
    case.decided_at = now
    case.purge_after = now + timedelta(days=settings.recovery_purge_days)
    await record_audit(
        session,
        action=f"recovery.{case.status}",
        actor=actor,
        target_type="recovery_case",
        target_id=str(case.id),
        details={
            "template": template.key,
            "uid": case.unlocked_uid,
            "unlock_action_id": case.unlock_action_id,
            "hold_until": case.security_hold_until.isoformat() if case.security_hold_until else None,
        },
    )
    await append_message(
        session,
        conversation,
        actor,
        NewMessage(
            body="",
            kind=MessageKind.EVENT,
            data={
                "field": "recovery",
                "from": str(previous),
                "to": str(case.status),
                "recovery_case_id": str(case.id),
                "template": template.key,
            },
        ),
        author=AuthorKind.AGENT,
        channel=ChannelKind(conversation.channel),
    )
    await _tell_customer(session, actor, conversation, case, template.customer_text)
    await queue_recovery_decided(session, case, conversation.reference, settings=settings)
    return case


async def _tell_customer(
    session: AsyncSession, actor: AgentActor, conversation: Conversation, case: RecoveryCase, text: str
) -> None:
    """The decision in the customer's thread (My requests), in their language; the request is solved.

    Said by the system, so the origin channel does not deliver it again: the decision email does.
    """
    t = get_translator(normalise_locale(conversation.locale) or DEFAULT_LOCALE)
    lines = [t.gettext(text)]
    if case.security_hold_reason in HOLD_REASONS and case.security_hold_until:
        lines.append(t.gettext(HOLD_REASONS[case.security_hold_reason]))
    await append_message(
        session,
        conversation,
        None,
        NewMessage(body="\n\n".join(lines), data={"recovery_decision": str(case.status)}),
        author=AuthorKind.SYSTEM,
        channel=ChannelKind(conversation.channel),
    )
    if conversation.status not in (Status.SOLVED, Status.CLOSED):
        await do_update_conversation(session, actor, conversation, ConversationUpdate(status=Status.SOLVED))
