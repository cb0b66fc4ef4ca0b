"""Recovery test helpers: a reviewer with a second factor, and a case submitted through the real actions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.auth.service import build_actor
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.recovery.actions import do_submit_recovery
from kefu.recovery.documents import prepare_document, store_sealed_documents
from kefu.recovery.models import DocumentKind, RecoveryDocument, RecoveryReason
from kefu.recovery.schemas import RecoverySubmission
from kefu.runtime import Runtime
from kefu.storage.envelope import Keyring
from tests.factories import make_agent
from tests.storage.samples import jpeg_with_exif, png


@dataclass(frozen=True)
class SubmittedCase:
    case_id: uuid.UUID
    conversation_id: uuid.UUID
    reference: str
    attachment_ids: dict[DocumentKind, uuid.UUID]


async def make_reviewer(
    maker: async_sessionmaker[AsyncSession], email: str, *, role: Role = Role.KYC_REVIEWER, totp: bool = True
) -> AgentActor:
    """An agent (a KYC reviewer by default) as their browser session's actor; 2FA enrolled unless told."""
    staff = await make_agent(maker, email, role=role)
    async with transaction(maker) as session:
        agent = await session.get(Agent, staff.id)
        assert agent is not None
        if totp:
            agent.totp_secret_encrypted = "enrolled-in-tests"
            agent.totp_enabled_at = utcnow()
        return await build_actor(session, agent, session_id="test-session")


def sample_documents() -> dict[DocumentKind, bytes]:
    """Photos as a phone sends them: JPEGs with GPS and camera metadata, and a PNG."""
    return {
        DocumentKind.ID_FRONT: jpeg_with_exif(size=(64, 40)),
        DocumentKind.ID_BACK: png((64, 40), "white"),
        DocumentKind.SELFIE: jpeg_with_exif(size=(48, 64)),
    }


async def submit_case(
    runtime: Runtime,
    keyring: Keyring,
    *,
    email: str = "bob.trader@example.com",
    uid: str | None = "10000002",
    reason: RecoveryReason = RecoveryReason.LOST_2FA,
    locale: str = "en",
    documents: dict[DocumentKind, bytes] | None = None,
) -> SubmittedCase:
    """A case opened the way the help-center form opens it (documents sealed, then one transaction)."""
    photos = documents or sample_documents()
    images = [
        (kind, prepare_document(data, max_bytes=10_000_000, max_pixels=10_000_000))
        for kind, data in photos.items()
    ]
    sealed = await store_sealed_documents(runtime.blobs, keyring, images)
    submission = RecoverySubmission(
        email=email, exchange_uid=uid, reason=reason, description="Phone stolen", locale=locale, consent=True
    )
    async with transaction(runtime.sessionmaker) as session:
        case, conversation = await do_submit_recovery(session, submission, sealed, settings=runtime.settings)
        rows = await session.scalars(select(RecoveryDocument).where(RecoveryDocument.case_id == case.id))
        attachments = {DocumentKind(row.kind): row.attachment_id for row in rows}
        return SubmittedCase(case.id, conversation.id, conversation.reference, attachments)
