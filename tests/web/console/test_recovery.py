"""Recovery cases in the console: KYC reviewers (2FA) list, open and decide cases and view watermarked
documents (each view audited, never cached); everyone else gets 404, tokens included."""

from __future__ import annotations

import io
import uuid

import httpx
from PIL import Image
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.auth.roles import Role
from kefu.conversations.models import Attachment
from kefu.core.clock import FrozenClock, utcnow
from kefu.db.uow import transaction
from kefu.integrations.exchange.schemas import AccountStatus
from kefu.recovery.documents import open_document
from kefu.recovery.models import DocumentKind, RecoveryCase, RecoveryDocument, RecoveryStatus
from kefu.runtime import Runtime
from kefu.trust.keys import keyring_from_settings
from tests.factories import PASSWORD, StaffMember, make_agent
from tests.recovery.helpers import SubmittedCase, submit_case
from tests.web.console.conftest import assert_console_page, clock, sign_in
from tests.web.pages.conftest import next_code, post_form, setup_secret

__all__ = ["clock"]

HOSTILE = "<script>alert(1)</script>"


async def _signed_in_reviewer(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> StaffMember:
    """A KYC reviewer signed in through the pages, second factor enrolled (reviewers cannot work without)."""
    reviewer = await make_agent(runtime.sessionmaker, "kyc@kefu.test", role=Role.KYC_REVIEWER)
    signed = await sign_in(client, "kyc@kefu.test")
    assert signed.headers["location"] == "/login/enroll"
    secret = setup_secret(await post_form(client, "/login/enroll", {"action": "start"}))
    confirmed = await post_form(
        client, "/login/enroll", {"action": "confirm", "code": next_code(secret, clock), "password": PASSWORD}
    )
    assert confirmed.status_code == 303, confirmed.text
    return reviewer


def _csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrf-token": client.cookies["kefu_csrf"], "origin": "http://kefu.test"}


async def _case(runtime: Runtime, **changes: str | None) -> SubmittedCase:
    return await submit_case(runtime, keyring_from_settings(runtime.settings), **changes)  # type: ignore[arg-type]


async def _audit(runtime: Runtime, action: str) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_a_reviewer_lists_opens_and_decides_a_case(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    submitted = await _case(runtime, email="bob.trader@example.com")
    await _signed_in_reviewer(client, runtime, clock)

    listing = await client.get("/console/recovery")
    assert listing.status_code == 200
    assert_console_page(listing)
    assert f'href="/console/recovery/{submitted.case_id}"' in listing.text
    assert submitted.reference in listing.text

    page = await client.get(f"/console/recovery/{submitted.case_id}")
    assert page.status_code == 200
    assert_console_page(page)
    assert "bob.trader@example.com" in page.text
    assert '<span class="badge account-locked">locked</span>' in page.text  # the exchange's lookup
    for attachment_id in submitted.attachment_ids.values():
        assert f'src="/console/recovery/documents/{attachment_id}"' in page.text
    assert 'id="approve-form"' in page.text
    assert 'id="reject-form"' in page.text

    claimed = await client.post(f"/api/v1/recovery/cases/{submitted.case_id}/claim", headers=_csrf(client))
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "in_review"
    decided = await client.post(
        f"/api/v1/recovery/cases/{submitted.case_id}/decision",
        json={"decision": "approve", "template": "unlocked", "note": HOSTILE},
        headers=_csrf(client),
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "approved"
    assert body["unlocked_uid"] == "10000002"
    assert body["security_hold_reason"] == "withdrawals_24h_after_unlock"
    bob = await runtime.exchange.find_account(uid="10000002")
    assert bob is not None
    assert bob.status == AccountStatus.ACTIVE

    after = await client.get(f"/console/recovery/{submitted.case_id}")
    assert 'id="approve-form"' not in after.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in after.text
    assert HOSTILE not in after.text
    assert "Withdrawals are locked for 24 hours after an account is unlocked." in after.text
    again = await client.post(
        f"/api/v1/recovery/cases/{submitted.case_id}/decision",
        json={"decision": "reject", "template": "mismatch"},
        headers=_csrf(client),
    )
    assert again.status_code == 409
    decided_list = await client.get("/console/recovery?state=decided")
    assert submitted.reference in decided_list.text
    open_list = await client.get("/console/recovery?state=<script>")
    assert open_list.status_code == 200
    assert submitted.reference not in open_list.text


async def test_documents_are_watermarked_never_cached_and_every_view_audited(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    submitted = await _case(runtime)
    reviewer = await _signed_in_reviewer(client, runtime, clock)
    front = submitted.attachment_ids[DocumentKind.ID_FRONT]
    url = f"/console/recovery/documents/{front}"
    for _ in range(2):
        shown = await client.get(url)
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/jpeg"
        assert shown.headers["cache-control"] == "no-store"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["content-disposition"].startswith("inline;")
        assert "sandbox" in shown.headers["content-security-policy"]
    async with runtime.sessionmaker() as session:
        attachment = await session.get(Attachment, front)
        assert attachment is not None
    original = await open_document(
        runtime.blobs, keyring_from_settings(runtime.settings), attachment.blob_key, front
    )
    assert shown.content != original  # the watermark changed the pixels
    with Image.open(io.BytesIO(shown.content)) as image, Image.open(io.BytesIO(original)) as plain:
        assert image.size == plain.size
    views = await _audit(runtime, "recovery.document_viewed")
    assert len(views) == 2
    assert {v.actor_id for v in views} == {reviewer.id}
    assert all(v.details["attachment_id"] == str(front) for v in views)

    # Purged after the decision: gone for good.
    async with transaction(runtime.sessionmaker) as session:
        document = await session.scalar(
            select(RecoveryDocument).where(RecoveryDocument.attachment_id == front)
        )
        assert document is not None
        document.purged_at = utcnow()
    assert (await client.get(url)).status_code == 410
    assert (await client.get(f"/console/recovery/documents/{uuid.uuid4()}")).status_code == 404
    page = await client.get(f"/console/recovery/{submitted.case_id}")
    assert f'src="{url}"' not in page.text
    assert "Deleted on" in page.text


async def test_a_refused_unlock_is_shown_and_the_case_stays_open(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    submitted = await _case(runtime, email="carol@mail.example.com", uid="10000003")  # frozen by compliance
    await _signed_in_reviewer(client, runtime, clock)
    refused = await client.post(
        f"/api/v1/recovery/cases/{submitted.case_id}/decision",
        json={"decision": "approve", "template": "unlocked"},
        headers=_csrf(client),
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "exchange_rejected"
    assert "frozen" in refused.json()["error"]["message"]
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.status == RecoveryStatus.SUBMITTED
    invalid = await client.post(
        f"/api/v1/recovery/cases/{submitted.case_id}/decision",
        json={"decision": "approve", "template": "mismatch"},
        headers=_csrf(client),
    )
    assert invalid.status_code == 422
    no_csrf = await client.post(
        f"/api/v1/recovery/cases/{submitted.case_id}/decision",
        json={"decision": "reject", "template": "mismatch"},
    )
    assert no_csrf.status_code == 403


async def test_everyone_but_reviewers_gets_404_and_is_audited(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    submitted = await _case(runtime)
    front = submitted.attachment_ids[DocumentKind.ID_FRONT]
    paths = [
        "/console/recovery",
        f"/console/recovery/{submitted.case_id}",
        f"/console/recovery/documents/{front}",
    ]
    # An agent signed in through the pages.
    await make_agent(runtime.sessionmaker, "li@kefu.test")
    await sign_in(client, "li@kefu.test")
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "bob.trader@example.com" not in response.text
    claim = await client.post(f"/api/v1/recovery/cases/{submitted.case_id}/claim", headers=_csrf(client))
    assert claim.status_code == 404
    assert len(await _audit(runtime, "access.denied")) == 4
    # A reviewer's API token: tokens never proved a second factor.
    token = await make_agent(runtime.sessionmaker, "kyc-script@kefu.test", role=Role.KYC_REVIEWER)
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://kefu.test")
    async with anonymous:
        by_token = await anonymous.post(
            f"/api/v1/recovery/cases/{submitted.case_id}/decision",
            json={"decision": "reject", "template": "mismatch"},
            headers=token.headers,
        )
        assert by_token.status_code == 404
        signed_out = await anonymous.get("/console/recovery")
        assert signed_out.status_code == 303
    async with runtime.sessionmaker() as session:
        case = await session.get(RecoveryCase, submitted.case_id)
        assert case is not None
        assert case.status == RecoveryStatus.SUBMITTED


async def test_a_reviewer_without_a_second_factor_is_sent_to_enrol(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    submitted = await _case(runtime)
    await make_agent(runtime.sessionmaker, "new-kyc@kefu.test", role=Role.KYC_REVIEWER)
    signed = await sign_in(client, "new-kyc@kefu.test")
    assert signed.headers["location"] == "/login/enroll"
    for path in ("/console/recovery", f"/console/recovery/{submitted.case_id}"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login/enroll")
    claim = await client.post(f"/api/v1/recovery/cases/{submitted.case_id}/claim", headers=_csrf(client))
    assert claim.status_code in (401, 404)
