"""My requests: email-code and magic-link sign-in, the customer's own requests, replies, solve, sign-out."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from kefu.auth.customer_login import MAX_CODE_ATTEMPTS, MAX_CODES_PER_EMAIL
from kefu.auth.models import CustomerSession, CustomerSignInCode
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.core.clock import FrozenClock, set_clock
from kefu.db.uow import transaction
from kefu.jobs.models import OutboxJob
from kefu.runtime import Runtime
from tests.web.helpcenter.conftest import page_tags

ALICE = "alice@example.com"
BOB = "bob@example.com"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ORIGIN = {"origin": "http://kefu.test"}


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    previous = set_clock(frozen)
    yield frozen
    set_clock(previous)


async def open_request(client: httpx.AsyncClient, email: str, subject: str, body: str = "help") -> str:
    """File a request the way the help-center form does (anonymous, naming the email)."""
    response = await client.post(
        "/api/v1/conversations",
        json={"subject": subject, "body": body, "customer": {"email": email}, "locale": "en"},
    )
    assert response.status_code == 201, response.text
    reference: str = response.json()["reference"]
    return reference


async def mail_jobs(runtime: Runtime, template: str) -> list[dict[str, Any]]:
    async with transaction(runtime.sessionmaker) as session:
        rows = await session.scalars(select(OutboxJob).where(OutboxJob.name == "mail.send"))
        return [job.payload for job in rows if job.payload.get("template") == template]


async def last_code(runtime: Runtime, email: str) -> dict[str, Any]:
    """The context of the newest sign-in email to `email` (code, link)."""
    sent = [p for p in await mail_jobs(runtime, "customer_sign_in") if p["to"] == email]
    assert sent, "no sign-in email was queued"
    context: dict[str, Any] = sent[-1]["context"]
    return context


async def sign_in(client: httpx.AsyncClient, runtime: Runtime, email: str) -> str:
    """Sign the client in as `email`; returns the CSRF token for writes."""
    response = await client.post("/api/v1/customer-auth/code", json={"email": email, "locale": "en"})
    assert response.status_code == 202, response.text
    code = (await last_code(runtime, email))["code"]
    response = await client.post("/api/v1/customer-auth/verify", json={"email": email, "code": code})
    assert response.status_code == 200, response.text
    assert "kefu_customer" in client.cookies
    return client.cookies["kefu_csrf"]


# --- asking for a code ---


async def test_known_and_unknown_addresses_get_the_same_answer(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "Deposit missing")
    known = await client.post("/api/v1/customer-auth/code", json={"email": ALICE, "locale": "zh-CN"})
    unknown = await client.post("/api/v1/customer-auth/code", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    sent = await mail_jobs(runtime, "customer_sign_in")
    assert [p["to"] for p in sent] == [ALICE]
    context = sent[0]["context"]
    assert re.fullmatch(r"\d{6}", context["code"])
    assert context["link"].startswith("http://kefu.test/hc/zh-CN/my/sign-in/link?token=")
    assert sent[0]["locale"] == "zh-CN"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not an address"},
        {"email": "a\r\nBcc: x@evil.com@example.com"},
        {"email": "x" * 400 + "@example.com"},
        {"email": ALICE, "extra": 1},
        {"email": ["list"]},
        {},
    ],
)
async def test_malformed_code_requests_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/customer-auth/code", json=body)
    assert response.status_code == 422, response.text
    assert await mail_jobs(runtime, "customer_sign_in") == []


async def test_codes_are_rate_limited_alike_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "Locked")
    for email in (ALICE, "ghost@example.com"):
        for _ in range(MAX_CODES_PER_EMAIL):
            response = await client.post("/api/v1/customer-auth/code", json={"email": email})
            assert response.status_code == 202
        refused = await client.post("/api/v1/customer-auth/code", json={"email": email})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
    assert len(await mail_jobs(runtime, "customer_sign_in")) == MAX_CODES_PER_EMAIL


# --- checking the code ---


async def test_a_correct_code_signs_in_once_and_verifies_the_address(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    code = (await last_code(runtime, ALICE))["code"]
    response = await client.post(
        "/api/v1/customer-auth/verify", json={"email": " Alice@Example.com ", "code": code}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"email": ALICE}
    cookie = response.headers.get_list("set-cookie")
    assert any(c.startswith("kefu_customer=") and "httponly" in c.lower() for c in cookie)
    again = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": code})
    assert again.status_code == 401
    async with transaction(runtime.sessionmaker) as session:
        identity = await session.scalar(
            select(ContactIdentity).where(
                ContactIdentity.kind == IdentityKind.EMAIL, ContactIdentity.value == ALICE
            )
        )
        assert identity is not None
        assert identity.verified_at is not None
        assert await session.scalar(select(func.count()).select_from(CustomerSession)) == 1


async def test_wrong_guesses_burn_the_code(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    code = (await last_code(runtime, ALICE))["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_CODE_ATTEMPTS):
        response = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": wrong})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    response = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": code})
    assert response.status_code == 401
    assert "kefu_customer" not in client.cookies


async def test_a_new_code_replaces_the_old_one(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    first = (await last_code(runtime, ALICE))["code"]
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    second = (await last_code(runtime, ALICE))["code"]
    if first != second:
        old = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": first})
        assert old.status_code == 401
    new = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": second})
    assert new.status_code == 200


async def test_codes_expire(client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    code = (await last_code(runtime, ALICE))["code"]
    clock.advance(timedelta(minutes=16))
    response = await client.post("/api/v1/customer-auth/verify", json={"email": ALICE, "code": code})
    assert response.status_code == 401


async def test_unknown_addresses_never_sign_in(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await client.post("/api/v1/customer-auth/code", json={"email": "ghost@example.com"})
    async with transaction(runtime.sessionmaker) as session:
        row = await session.scalar(select(CustomerSignInCode))
        assert row is not None
        assert row.contact_id is None
    for code in ("000000", "123456", "999999"):
        response = await client.post(
            "/api/v1/customer-auth/verify", json={"email": "ghost@example.com", "code": code}
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"email": ALICE, "code": "1" * 33},
        {"email": ALICE},
        {"email": ALICE, "code": 123456},
        {"email": ALICE, "code": ""},
    ],
)
async def test_malformed_verify_bodies_are_refused(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/customer-auth/verify", json=body)
    assert response.status_code == 422


async def test_codes_are_stored_only_as_digests(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    context = await last_code(runtime, ALICE)
    token = context["link"].rsplit("token=", 1)[1]
    async with transaction(runtime.sessionmaker) as session:
        row = await session.scalar(select(CustomerSignInCode))
        assert row is not None
        assert context["code"] not in (row.code_digest, row.link_digest)
        assert token not in (row.code_digest, row.link_digest)


# --- the magic link ---


async def test_the_magic_link_asks_for_a_click_then_signs_in_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE, "locale": "en"})
    link = (await last_code(runtime, ALICE))["link"]
    page = await client.get(link.removeprefix("http://kefu.test"))
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "kefu_customer" not in client.cookies  # a GET (a mail scanner) signs nobody in
    fields = {attrs["name"]: attrs.get("value", "") for tag, attrs in page_tags(page) if tag == "input"}
    assert set(fields) == {"csrf_token", "token"}
    response = await client.post("/hc/en/my/sign-in/link", data=fields, headers=ORIGIN)
    assert response.status_code == 303
    assert response.headers["location"] == "/hc/en/my/requests"
    assert "kefu_customer" in client.cookies
    client.cookies.delete("kefu_customer")
    # Signing in issued a new CSRF cookie: the old form's token is stale, so resend with the new one.
    fields["csrf_token"] = client.cookies["kefu_csrf"]
    reused = await client.post("/hc/en/my/sign-in/link", data=fields, headers=ORIGIN)
    assert reused.status_code == 401
    assert "expired or was already used" in reused.text


async def test_the_magic_link_post_needs_the_csrf_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await open_request(client, ALICE, "Order failed")
    await client.post("/api/v1/customer-auth/code", json={"email": ALICE})
    token = (await last_code(runtime, ALICE))["link"].rsplit("token=", 1)[1]
    await client.get("/hc/en/my/sign-in/link", params={"token": token})
    forged = await client.post("/hc/en/my/sign-in/link", data={"token": token, "csrf_token": "x" * 32})
    assert forged.status_code == 403
    cross_site = await client.post(
        "/hc/en/my/sign-in/link",
        data={"token": token, "csrf_token": client.cookies["kefu_csrf"]},
        headers={"origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert "kefu_customer" not in client.cookies


@pytest.mark.parametrize("token", ["", "nonsense", "A" * 200, "<script>alert(1)</script>"])
async def test_bad_links_are_answered_with_a_page(client: httpx.AsyncClient, token: str) -> None:
    page = await client.get("/hc/zh-CN/my/sign-in/link", params={"token": token})
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    forms = [attrs for tag, attrs in page_tags(page) if tag == "form"]
    assert len(forms) == (1 if token and len(token) <= 128 else 0)


# --- the pages ---


async def test_pages_need_a_signed_in_customer(client: httpx.AsyncClient) -> None:
    for path in ("/hc/en/my/requests", "/hc/zh-CN/my/requests/KF-12345678"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].endswith("/my/sign-in")
    page = await client.get("/hc/zh-CN/my/sign-in")
    assert page.status_code == 200
    assert "我的工单" in page.text or "My requests" not in page.text


async def test_customers_see_only_their_own_requests(client: httpx.AsyncClient, runtime: Runtime) -> None:
    mine = await open_request(client, ALICE, "My deposit " + HOSTILE)
    theirs = await open_request(client, BOB, "Bob's withdrawal")
    await sign_in(client, runtime, ALICE)
    listing = await client.get("/hc/en/my/requests")
    assert listing.status_code == 200
    assert listing.headers["cache-control"] == "no-store"
    assert mine in listing.text
    assert theirs not in listing.text
    assert HOSTILE not in listing.text
    assert "&lt;script&gt;" in listing.text
    assert (await client.get(f"/hc/en/my/requests/{mine}")).status_code == 200
    assert (await client.get(f"/hc/en/my/requests/{theirs}")).status_code == 404
    assert (await client.get("/api/v1/conversations/" + theirs)).status_code == 404
    assert (await client.get("/hc/en/my/requests/not-a-reference")).status_code == 404
    zh = await client.get("/hc/zh-CN/my/requests")
    assert zh.status_code == 200
    assert mine in zh.text


async def test_reply_attach_and_solve(client: httpx.AsyncClient, runtime: Runtime) -> None:
    reference = await open_request(client, ALICE, "Order failed", body="first words")
    csrf = await sign_in(client, runtime, ALICE)
    headers = {"x-csrf-token": csrf, **ORIGIN}
    url = f"/api/v1/conversations/{reference}/messages"
    no_csrf = await client.post(url, json={"body": "hello"}, headers=ORIGIN)
    assert no_csrf.status_code == 403
    image = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(image, format="PNG")
    png = image.getvalue()
    reply = await client.post(
        url,
        data={"payload": '{"body": "more ' + HOSTILE.replace('"', "'") + '", "client_id": "c-1"}'},
        files={"files": ("shot.png", png, "image/png")},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    assert [a["filename"] for a in reply.json()["attachments"]] == ["shot.png"]
    thread = await client.get(f"/hc/en/my/requests/{reference}")
    assert "first words" in thread.text
    assert "shot.png" in thread.text
    assert "<img src=x" not in thread.text
    solved = await client.post(f"/api/v1/conversations/{reference}/solve", headers=headers)
    assert solved.status_code == 200
    assert solved.json()["status"] == "solved"
    again = await client.post(f"/api/v1/conversations/{reference}/solve", headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "solved"
    reopened = await client.post(url, json={"body": "it broke again", "client_id": "c-2"}, headers=headers)
    assert reopened.status_code == 201
    assert (await client.get(f"/api/v1/conversations/{reference}")).json()["status"] == "open"


async def test_only_customers_solve_and_only_their_own(client: httpx.AsyncClient, runtime: Runtime) -> None:
    theirs = await open_request(client, BOB, "Bob's")
    await open_request(client, ALICE, "Alice's")
    csrf = await sign_in(client, runtime, ALICE)
    response = await client.post(
        f"/api/v1/conversations/{theirs}/solve", headers={"x-csrf-token": csrf, **ORIGIN}
    )
    assert response.status_code == 404
    client.cookies.clear()
    assert (await client.post(f"/api/v1/conversations/{theirs}/solve")).status_code == 401


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await open_request(client, ALICE, "Alice's")
    csrf = await sign_in(client, runtime, ALICE)
    cookie = client.cookies["kefu_customer"]
    response = await client.post("/api/v1/customer-auth/sign-out", headers={"x-csrf-token": csrf, **ORIGIN})
    assert response.status_code == 204
    client.cookies.set("kefu_customer", cookie)  # a stolen copy of the cookie is dead too
    assert (await client.get("/hc/en/my/requests")).status_code == 303
    assert (await client.get("/api/v1/conversations")).status_code == 401


async def test_forged_customer_cookies_are_ignored(client: httpx.AsyncClient) -> None:
    for value in ("forged", "x" * 300, str(uuid.uuid4())):
        client.cookies.set("kefu_customer", value)
        assert (await client.get("/hc/en/my/requests")).status_code == 303
        assert (await client.get("/api/v1/conversations")).status_code == 401


# --- the acknowledgement ---


async def test_a_form_request_queues_one_acknowledgement(client: httpx.AsyncClient, runtime: Runtime) -> None:
    body = {
        "subject": "Where is my USDT",
        "body": "sent 2 hours ago",
        "customer": {"email": ALICE},
        "locale": "zh-CN",
        "client_id": "hc-" + "a" * 32,
    }
    first = await client.post("/api/v1/conversations", json=body)
    retry = await client.post("/api/v1/conversations", json=body)
    assert first.status_code == 201
    assert retry.status_code == 200
    sent = await mail_jobs(runtime, "request_received")
    assert len(sent) == 1
    assert sent[0]["to"] == ALICE
    assert sent[0]["locale"] == "zh-CN"
    assert sent[0]["context"]["reference"] == first.json()["reference"]
    assert sent[0]["context"]["requests_url"] == "http://kefu.test/hc/zh-CN/my/requests"
    async with transaction(runtime.sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1


async def test_a_signed_in_customer_files_a_request_under_their_own_address(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await open_request(client, ALICE, "First")
    csrf = await sign_in(client, runtime, ALICE)
    response = await client.post(
        "/api/v1/conversations",
        json={"subject": "Second", "body": "again", "customer": {"email": BOB}, "locale": "en"},
        headers={"x-csrf-token": csrf, **ORIGIN},
    )
    assert response.status_code == 201, response.text
    assert response.json()["customer_token"] is None
    sent = [p for p in await mail_jobs(runtime, "request_received") if p["context"]["subject"] == "Second"]
    assert [p["to"] for p in sent] == [ALICE]  # never to an address the session did not prove
    listing = await client.get("/hc/en/my/requests")
    assert response.json()["reference"] in listing.text
