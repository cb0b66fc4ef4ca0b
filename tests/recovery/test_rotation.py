"""Master-key rotation: documents sealed under k1 stay readable under k2 with k1 removed; idempotent."""

from __future__ import annotations

from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.conversations.models import Attachment
from kefu.recovery.documents import open_document
from kefu.recovery.models import DocumentKind, RecoveryDocument
from kefu.recovery.rotation import rotate_document_keys
from kefu.runtime import Runtime
from kefu.storage.envelope import Keyring, generate_key_setting, sealed_key_id
from tests.recovery.helpers import submit_case

K1 = generate_key_setting("k1")
K2 = generate_key_setting("k2")


async def _documents(runtime: Runtime) -> list[tuple[RecoveryDocument, Attachment]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(RecoveryDocument, Attachment).join(
                Attachment, Attachment.id == RecoveryDocument.attachment_id
            )
        )
        return [(d, a) for d, a in rows]


async def test_rotation_rewraps_every_document_under_the_new_key(runtime: Runtime) -> None:
    old = Keyring.parse(K1)
    await submit_case(runtime, old)
    await submit_case(runtime, old, email="alice@example.com", uid="10000001")
    before = await _documents(runtime)
    plain = {a.id: await open_document(runtime.blobs, old, a.blob_key, a.id) for _d, a in before}
    assert {d.key_id for d, _a in before} == {"k1"}

    rotating = Keyring.parse(f"{K2},{K1}")
    report = await rotate_document_keys(runtime.sessionmaker, runtime.blobs, rotating)
    assert report.rewrapped == 6
    assert report.failed == {}

    after = await _documents(runtime)
    only_new = Keyring.parse(K2)  # k1 retired: removed from the setting
    for document, attachment in after:
        assert document.key_id == "k2"
        sealed = await runtime.blobs.get(attachment.blob_key)
        assert sealed_key_id(sealed) == "k2"
        assert (
            await open_document(runtime.blobs, only_new, attachment.blob_key, attachment.id)
            == plain[attachment.id]
        )
    # The envelopes under the retired key are gone from the store.
    for _document, attachment in before:
        assert not await runtime.blobs.exists(attachment.blob_key)

    again = await rotate_document_keys(runtime.sessionmaker, runtime.blobs, rotating)
    assert again.rewrapped == 0
    assert [(d.key_id, a.blob_key) for d, a in await _documents(runtime)] == [
        (d.key_id, a.blob_key) for d, a in after
    ]
    async with runtime.sessionmaker() as session:
        events = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotated")))
    assert [e.details["rewrapped"] for e in events] == [6, 0]
    assert all(e.details["active_key_id"] == "k2" for e in events)


async def test_documents_under_a_missing_key_are_reported_and_left_alone(runtime: Runtime) -> None:
    await submit_case(runtime, Keyring.parse(K1))
    before = await _documents(runtime)
    # The operator dropped k1 before rotating: nothing opens, nothing is destroyed.
    report = await rotate_document_keys(runtime.sessionmaker, runtime.blobs, Keyring.parse(K2))
    assert report.rewrapped == 0
    assert sorted(report.failed) == sorted(str(a.id) for _d, a in before)
    for document, attachment in await _documents(runtime):
        assert document.key_id == "k1"
        assert await runtime.blobs.exists(attachment.blob_key)
    assert DocumentKind.ID_FRONT in {DocumentKind(d.kind) for d, _a in before}
