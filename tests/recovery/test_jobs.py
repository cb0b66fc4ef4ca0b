"""The purge job: documents of cases decided `recovery_purge_days` ago are deleted, audited, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.conversations.models import Attachment
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.jobs.registry import JobContext
from kefu.recovery.access import DocumentPurged, access_recovery_document
from kefu.recovery.jobs import PERIODIC, PURGE_DOCUMENTS, bind_handlers, purge_due_documents
from kefu.recovery.models import DocumentKind, RecoveryCase, RecoveryDocument
from kefu.registry import bind_job_handlers, load_job_modules
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.recovery.helpers import SubmittedCase, make_reviewer, submit_case


async def _set_purge_after(runtime: Runtime, submitted: SubmittedCase, delta: timedelta) -> None:
    async with transaction(runtime.sessionmaker) as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        case.decided_at = utcnow() - timedelta(days=31)
        case.purge_after = utcnow() + delta


async def _blob_keys(runtime: Runtime, submitted: SubmittedCase) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(Attachment.blob_key).where(Attachment.id.in_(list(submitted.attachment_ids.values())))
        )
        return list(rows)


async def test_due_documents_are_deleted_marked_and_audited_once(runtime: Runtime) -> None:
    keyring = keyring_from_settings(runtime.settings)
    due = await submit_case(runtime, keyring)
    later = await submit_case(runtime, keyring, email="alice@example.com", uid="10000001")
    undecided = await submit_case(runtime, keyring, email="erin@example.com", uid=None)
    await _set_purge_after(runtime, due, timedelta(minutes=-1))
    await _set_purge_after(runtime, later, timedelta(days=1))
    due_keys = await _blob_keys(runtime, due)

    async with transaction(runtime.sessionmaker) as session:
        assert await purge_due_documents(session, runtime.blobs) == 1
    for key in due_keys:
        assert not await runtime.blobs.exists(key)
    for other in (later, undecided):
        for key in await _blob_keys(runtime, other):
            assert await runtime.blobs.exists(key)
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, due.case_id)
        assert case is not None
        assert case.purged_at is not None
        documents = list(
            await session.scalars(select(RecoveryDocument).where(RecoveryDocument.case_id == due.case_id))
        )
        assert len(documents) == 3
        assert all(d.purged_at is not None for d in documents)
        [event] = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "recovery.documents_purged")
        )
        assert event.target_id == str(due.case_id)
        assert event.details["documents"] == 3
        assert sorted(event.details["attachment_ids"]) == sorted(str(a) for a in due.attachment_ids.values())
        # The attachment rows stay: the timeline still names what was sent.
        assert (
            len(
                list(
                    await session.scalars(
                        select(Attachment.id).where(Attachment.id.in_(list(due.attachment_ids.values())))
                    )
                )
            )
            == 3
        )

    # Idempotent: a second run finds nothing and records nothing.
    async with transaction(runtime.sessionmaker) as session:
        assert await purge_due_documents(session, runtime.blobs) == 0
    async with runtime.sessionmaker() as session:
        events = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "recovery.documents_purged"))
        )
        assert len(events) == 1

    # A purged document's view is gone (the web route answers 410).
    reviewer = await make_reviewer(runtime.sessionmaker, "kyc@kefu.test")
    async with transaction(runtime.sessionmaker) as session:
        try:
            await access_recovery_document(session, reviewer, due.attachment_ids[DocumentKind.ID_FRONT])
        except DocumentPurged:
            pass
        else:
            raise AssertionError("a purged document must not be served")


async def test_a_run_that_died_after_deleting_blobs_is_finished_by_the_next(runtime: Runtime) -> None:
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    await _set_purge_after(runtime, submitted, timedelta(seconds=-1))
    keys = await _blob_keys(runtime, submitted)
    await runtime.blobs.delete(keys[0])  # as if the previous run deleted it and then rolled back
    async with transaction(runtime.sessionmaker) as session:
        assert await purge_due_documents(session, runtime.blobs) == 1
    for key in keys:
        assert not await runtime.blobs.exists(key)


async def test_the_purge_is_a_registered_hourly_job_bound_to_the_blob_store(runtime: Runtime) -> None:
    [task] = PERIODIC
    assert task.name == PURGE_DOCUMENTS
    assert task.every == timedelta(hours=1)
    assert task in load_job_modules()[1]
    assert PURGE_DOCUMENTS in bind_job_handlers(runtime)
    submitted = await submit_case(runtime, keyring_from_settings(runtime.settings))
    await _set_purge_after(runtime, submitted, timedelta(seconds=-1))
    handler = bind_handlers(runtime)[PURGE_DOCUMENTS]
    async with transaction(runtime.sessionmaker) as session:
        await handler(JobContext(session, submitted.case_id, PURGE_DOCUMENTS, 1, "key"), {"slot": "x"})
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.purged_at is not None
