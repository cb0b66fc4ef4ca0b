"""Only KYC reviewers with a second factor, in a browser session, reach recovery cases and documents;
every refusal and every document view is audited."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.core.clock import utcnow
from kefu.core.errors import NotFound
from kefu.db.uow import transaction
from kefu.recovery.access import (
    DocumentPurged,
    access_recovery_case,
    access_recovery_document,
    check_reviewer,
)
from kefu.recovery.models import DocumentKind, RecoveryDocument
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.recovery.helpers import make_reviewer, submit_case


async def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_only_reviewers_with_2fa_in_a_session_pass_every_gate(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    front = submitted.attachment_ids[DocumentKind.ID_FRONT]
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    outsiders: list[Actor | None] = [
        await make_reviewer(runtime.sessionmaker, "agent@kefu.test", role=Role.AGENT),
        await make_reviewer(runtime.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR),
        await make_reviewer(runtime.sessionmaker, "root@kefu.test", role=Role.ADMIN),
        # A reviewer who never enrolled a second factor, and a reviewer's API token.
        await make_reviewer(runtime.sessionmaker, "no2fa@kefu.test", totp=False),
        dataclasses.replace(reviewer, via_token=True, session_id=None),
        CustomerActor(contact_id=uuid.uuid4()),
        None,
    ]
    async with transaction(runtime.sessionmaker) as session:
        assert (await check_reviewer(session, reviewer)) is reviewer
        case = await access_recovery_case(session, reviewer, submitted.case_id)
        assert case.id == submitted.case_id
        _case, document, attachment = await access_recovery_document(
            session, reviewer, front, ip="203.0.113.9"
        )
        assert attachment.id == front
        assert document.kind == DocumentKind.ID_FRONT
    for who in outsiders:
        async with transaction(runtime.sessionmaker) as session:
            with pytest.raises(NotFound):
                await check_reviewer(session, who)
            with pytest.raises(NotFound):
                await access_recovery_case(session, who, submitted.case_id)
            with pytest.raises(NotFound):
                await access_recovery_document(session, who, front)
    denied = await _audit(runtime, "access.denied")
    assert len(denied) == 3 * len(outsiders)
    assert {(e.target_type, e.target_id) for e in denied} == {
        ("recovery", "recovery_cases"),
        ("recovery_case", str(submitted.case_id)),
        ("attachment", str(front)),
    }
    [viewed] = await _audit(runtime, "recovery.document_viewed")
    assert viewed.actor_id == reviewer.agent_id
    assert viewed.target_id == str(submitted.case_id)
    assert viewed.details == {"attachment_id": str(front), "kind": "id_front"}
    assert viewed.ip == "203.0.113.9"


async def test_a_deactivated_or_demoted_reviewer_is_refused(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    async with transaction(runtime.sessionmaker) as session:
        agent = await session.get(Agent, reviewer.agent_id)
        assert agent is not None
        agent.is_active = False
    async with transaction(runtime.sessionmaker) as session:
        with pytest.raises(NotFound):
            await access_recovery_case(session, reviewer, submitted.case_id)


async def test_unknown_ids_look_like_forbidden_ones_and_purged_documents_are_gone(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    async with transaction(runtime.sessionmaker) as session:
        with pytest.raises(NotFound):
            await access_recovery_case(session, reviewer, uuid.uuid4())
        with pytest.raises(NotFound):
            await access_recovery_document(session, reviewer, uuid.uuid4())
        # A case id is not a document id.
        with pytest.raises(NotFound):
            await access_recovery_document(session, reviewer, submitted.case_id)
    async with transaction(runtime.sessionmaker) as session:
        document = await session.scalar(
            select(RecoveryDocument).where(
                RecoveryDocument.attachment_id == submitted.attachment_ids[DocumentKind.SELFIE]
            )
        )
        assert document is not None
        document.purged_at = utcnow()
    async with transaction(runtime.sessionmaker) as session:
        with pytest.raises(DocumentPurged) as gone:
            await access_recovery_document(session, reviewer, submitted.attachment_ids[DocumentKind.SELFIE])
    assert gone.value.status == 410
    assert isinstance(reviewer, AgentActor)
