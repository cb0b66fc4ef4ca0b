"""The gates in front of recovery cases and identity documents: KYC reviewers with a second factor only.

Administrators are not let in either (SECURITY.md: only reviewers reach identity documents); they give
the reviewer role instead. API tokens are refused: a token never proved a second factor. Missing and
forbidden look the same (NotFound), and every refusal is audited in its own transaction, because the
request that was refused rolls back.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import Actor, AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.conversations.models import Attachment
from kefu.core.errors import KefuError, NotFound
from kefu.db.uow import independent_transaction
from kefu.recovery.models import RecoveryCase, RecoveryDocument


class DocumentPurged(KefuError):
    """The document existed but was deleted after the decision (HTTP 410)."""

    code = "gone"
    status = 410


async def _audit_denied(
    session: AsyncSession, actor: Actor | None, target_type: str, target_id: str, ip: str | None
) -> None:
    async with independent_transaction(session) as own:
        await record_audit(
            own, action="access.denied", actor=actor, target_type=target_type, target_id=target_id, ip=ip
        )


async def is_reviewer(session: AsyncSession, actor: Actor | None) -> bool:
    """True for a KYC reviewer signed in through a browser session with a second factor enrolled."""
    if not isinstance(actor, AgentActor) or actor.role != Role.KYC_REVIEWER or actor.via_token:
        return False
    agent = await session.get(Agent, actor.agent_id)
    # The session gate already refuses reviewers without 2FA; this holds even if it is bypassed.
    return agent is not None and agent.is_active and agent.role == Role.KYC_REVIEWER and agent.totp_enabled


async def check_reviewer(
    session: AsyncSession, actor: Actor | None, *, target: str = "recovery_cases", ip: str | None = None
) -> AgentActor:
    """`actor` if it may work on recovery cases; NotFound (audited) otherwise."""
    if await is_reviewer(session, actor):
        assert isinstance(actor, AgentActor)
        return actor
    await _audit_denied(session, actor, "recovery", target, ip)
    raise NotFound("not found")


async def access_recovery_case(
    session: AsyncSession,
    actor: Actor | None,
    case_id: uuid.UUID,
    *,
    for_update: bool = False,
    ip: str | None = None,
) -> RecoveryCase:
    """The case if `actor` is a reviewer (see `is_reviewer`); NotFound (audited) otherwise."""
    if not await is_reviewer(session, actor):
        await _audit_denied(session, actor, "recovery_case", str(case_id), ip)
        raise NotFound("recovery case not found")
    query = select(RecoveryCase).where(RecoveryCase.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = await session.scalar(query)
    if case is None:
        raise NotFound("recovery case not found")
    return case


async def access_recovery_document(
    session: AsyncSession, actor: Actor | None, attachment_id: uuid.UUID, *, ip: str | None = None
) -> tuple[RecoveryCase, RecoveryDocument, Attachment]:
    """A document a reviewer is about to see, with its case and attachment; the view is audited.

    NotFound (audited) for anyone else or an unknown id; DocumentPurged once it was purged.
    """
    if not await is_reviewer(session, actor):
        await _audit_denied(session, actor, "attachment", str(attachment_id), ip)
        raise NotFound("document not found")
    row = (
        await session.execute(
            select(RecoveryDocument, RecoveryCase, Attachment)
            .join(RecoveryCase, RecoveryCase.id == RecoveryDocument.case_id)
            .join(Attachment, Attachment.id == RecoveryDocument.attachment_id)
            .where(RecoveryDocument.attachment_id == attachment_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("document not found")
    document, case, attachment = row
    if document.purged_at is not None:
        raise DocumentPurged("this document was deleted after the decision")
    await record_audit(
        session,
        action="recovery.document_viewed",
        actor=actor,
        target_type="recovery_case",
        target_id=str(case.id),
        ip=ip,
        details={"attachment_id": str(attachment.id), "kind": str(document.kind)},
    )
    return case, document, attachment
