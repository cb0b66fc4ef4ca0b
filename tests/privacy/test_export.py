"""Export: the ZIP holds the customer's profile, identities, conversations (no internal notes), ratings,
recovery outcomes and files, never another customer's data; it downloads once ready and then expires."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

import httpx
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role, Scope
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.privacy.actions import EXPORT_JOB, purge_expired_exports
from kefu.privacy.export import build_export, readme
from kefu.privacy.models import PrivacyRequest, RequestStatus
from kefu.runtime import Runtime
from tests.factories import make_agent
from tests.privacy.helpers import seed_person
from tests.privacy.jobs import run_request_job
from tests.web.api.v1.conftest import assert_error


async def test_the_zip_holds_the_customers_data_and_nobody_elses(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    alice = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    bob = await seed_person(client, runtime, staff, slug="bob", phone="+8613800138002")

    created = await client.post(
        "/api/v1/privacy/exports",
        json={"contact_id": str(alice.contact_id), "reason": "Art. 15 request"},
        headers=admin.headers,
    )
    assert created.status_code == 202, created.text
    request_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    not_ready = await client.get(f"/api/v1/privacy/exports/{request_id}/download", headers=admin.headers)
    assert_error(not_ready, 409, "not_ready")

    await run_request_job(runtime, EXPORT_JOB, request_id)
    status = await client.get(f"/api/v1/privacy/exports/{request_id}", headers=admin.headers)
    assert status.status_code == 200
    assert status.json()["status"] == "completed"
    assert status.json()["counts"]["attachments"] == 1
    assert status.json()["expires_at"] is not None

    download = await client.get(f"/api/v1/privacy/exports/{request_id}/download", headers=admin.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    assert {
        "README.txt",
        "contact.json",
        "conversations.json",
        "ratings.json",
        "recovery_cases.json",
    } <= names
    contact = json.loads(archive.read("contact.json"))
    assert contact["name"] == alice.name
    assert {(i["kind"], i["value"]) for i in contact["identities"]} == {
        ("email", alice.email),
        ("phone", alice.phone),
    }
    [conversation] = json.loads(archive.read("conversations.json"))
    assert conversation["reference"] == alice.reference
    bodies = [m["body"] for m in conversation["messages"]]
    assert alice.body in bodies
    assert f"Hello {alice.name}, we are checking your deposit." in bodies
    assert not any("VIP" in body for body in bodies)  # internal notes stay staff data
    [attachment] = conversation["messages"][0]["attachments"]
    assert archive.read(attachment["path"]) == alice.file_bytes
    [rating] = json.loads(archive.read("ratings.json"))
    assert rating["score"] == 2
    everything = b"".join(archive.read(name) for name in names).decode()
    for secret in bob.secrets:
        assert secret not in everything

    async with runtime.sessionmaker() as session:
        [event] = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "privacy.export_downloaded")
        )
        assert event.actor_id == admin.id
        assert event.details["request_id"] == request_id

    # After expiry the ZIP is gone and the download answers 410.
    async with transaction(runtime.sessionmaker) as session:
        row = await session.get(PrivacyRequest, uuid.UUID(request_id))
        assert row is not None
        key = row.blob_key
        assert key is not None
        assert await purge_expired_exports(session, runtime.blobs) == 0
        assert await purge_expired_exports(session, runtime.blobs, now=utcnow() + timedelta(days=8)) == 1
    assert not await runtime.blobs.exists(key)
    gone = await client.get(f"/api/v1/privacy/exports/{request_id}/download", headers=admin.headers)
    assert_error(gone, 410, "gone")
    expired = await client.get(f"/api/v1/privacy/exports/{request_id}", headers=admin.headers)
    assert expired.json()["status"] == RequestStatus.EXPIRED


async def test_an_export_of_a_deleted_contact_fails_cleanly(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_agent(runtime.sessionmaker, "dpo@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    alice = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    created = await client.post(
        "/api/v1/privacy/exports", json={"contact_id": str(alice.contact_id)}, headers=admin.headers
    )
    request_id = created.json()["id"]
    async with transaction(runtime.sessionmaker) as session:
        row = await session.get(PrivacyRequest, uuid.UUID(request_id))
        assert row is not None
        row.contact_id = None
    await run_request_job(runtime, EXPORT_JOB, request_id)
    await run_request_job(runtime, EXPORT_JOB, request_id)  # a retried job is a no-op
    status = await client.get(f"/api/v1/privacy/exports/{request_id}", headers=admin.headers)
    assert status.json()["status"] == "failed"
    download = await client.get(f"/api/v1/privacy/exports/{request_id}/download", headers=admin.headers)
    assert_error(download, 410, "gone")


async def test_the_archive_is_reproducible_and_explained(client: httpx.AsyncClient, runtime: Runtime) -> None:
    staff = await make_agent(runtime.sessionmaker, "agent@kefu.test")
    alice = await seed_person(client, runtime, staff, slug="alice", phone="+8613800138001")
    stamp = utcnow()
    async with runtime.sessionmaker() as session:
        first = await build_export(session, runtime.blobs, alice.contact_id, stamp=stamp)
        second = await build_export(session, runtime.blobs, alice.contact_id, stamp=stamp)
    # A retried job stores the same blob rather than leaving an orphaned copy of the data behind.
    assert first.data == second.data
    readme_text = zipfile.ZipFile(io.BytesIO(first.data)).read("README.txt").decode()
    assert readme_text.startswith("Your data held by customer support\n")
    assert readme("xx-unknown") == readme("en")
