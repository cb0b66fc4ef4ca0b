"""The account recovery form: both locales, CSRF, every bad post a clear 4xx with nothing stored, and a
good post a case with sealed, metadata-free documents and an acknowledgement email."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kefu.conversations.models import Attachment, Conversation
from kefu.core.errors import InvalidInput
from kefu.jobs.models import OutboxJob
from kefu.recovery.documents import open_document
from kefu.recovery.models import RecoveryCase, RecoveryDocument
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.trust.keys import keyring_from_settings
from tests.storage.samples import jpeg_with_exif, noise_png, pdf, png
from tests.web.helpcenter.conftest import page_tags

ORIGIN = {"origin": "http://kefu.test"}
HOSTILE = "<script>alert(1)</script>\"'&"
LIMIT = 300_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small upload limit, so that an oversized photo is cheap to build."""
    return settings.model_copy(update={"upload_max_bytes": LIMIT})


def _fields(**changes: str) -> dict[str, str]:
    return {
        "email": "bob.trader@example.com",
        "exchange_uid": "10000002",
        "phone": "+44 7700 900123",
        "reason": "lost_2fa",
        "description": "My phone with the authenticator was stolen.",
        "consent": "yes",
    } | changes


def _files(**changes: bytes | None) -> dict[str, tuple[str, bytes, str]]:
    photos: dict[str, bytes | None] = {
        "id_front": jpeg_with_exif(size=(64, 40)),
        "id_back": png((64, 40), "white"),
        "selfie": jpeg_with_exif(size=(48, 64)),
    }
    photos.update(changes)
    return {name: (f"{name}.jpg", data, "image/jpeg") for name, data in photos.items() if data is not None}


async def _post(
    client: httpx.AsyncClient,
    locale: str = "en",
    *,
    fields: dict[str, str] | None = None,
    **files: bytes | None,
) -> httpx.Response:
    if "kefu_csrf" not in client.cookies:
        await client.get(f"/hc/{locale}/recovery")
    data = {"csrf_token": client.cookies["kefu_csrf"]} | (fields if fields is not None else _fields())
    return await client.post(f"/hc/{locale}/recovery", data=data, files=_files(**files), headers=ORIGIN)


async def _stored(runtime: Runtime) -> tuple[int, int, list[Path]]:
    async with runtime.sessionmaker() as session:
        cases = await session.scalar(select(func.count()).select_from(RecoveryCase))
        conversations = await session.scalar(select(func.count()).select_from(Conversation))
    blob_dir = runtime.settings.blob_dir
    blobs = [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []
    return int(cases or 0), int(conversations or 0), blobs


def _error(response: httpx.Response, name: str) -> str:
    match = re.search(rf'id="hc-r-{name}-error" class="hc-field-error">(.*?)</p>', response.text, re.S)
    assert match, response.text[:3000]
    return match.group(1)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_the_form_renders_in_both_locales_with_a_csrf_token(
    client: httpx.AsyncClient, locale: str
) -> None:
    page = await client.get(f"/hc/{locale}/recovery")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert f'<html lang="{locale}">' in page.text
    assert "kefu_csrf" in page.headers["set-cookie"]
    tags = page_tags(page)
    [form] = [attrs for tag, attrs in tags if tag == "form" and attrs.get("id") == "hc-recovery-form"]
    assert form["enctype"] == "multipart/form-data"
    assert form["action"] == f"/hc/{locale}/recovery"
    names = {attrs.get("name") for tag, attrs in tags if tag in ("input", "textarea")}
    assert {"csrf_token", "email", "exchange_uid", "phone", "reason", "description", "consent"} <= names
    assert {"id_front", "id_back", "selfie"} <= names
    accepts = {attrs.get("accept") for tag, attrs in tags if attrs.get("type") == "file"}
    assert accepts == {"image/jpeg,image/png,image/webp"}
    for tag, attrs in tags:
        assert "style" not in attrs, tag
        assert not [n for n in attrs if n.startswith("on")], tag
        if tag == "script":
            assert attrs["src"].startswith("/static/")
    # Linked from the contact page and the help center's home.
    for path in ("/contact", ""):
        linking = await client.get(f"/hc/{locale}{path}")
        assert f'href="/hc/{locale}/recovery"' in linking.text


async def test_a_good_post_opens_a_case_with_sealed_clean_documents(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    response = await _post(client)
    assert response.status_code == 303, response.text[:2000]
    location = response.headers["location"]
    reference = location.rsplit("=", 1)[1]
    assert location == f"/hc/en/recovery/submitted?reference={reference}"
    done = await client.get(location)
    assert done.status_code == 200
    assert f'<strong id="hc-reference" class="hc-reference">{reference}</strong>' in done.text

    cases, conversations, blobs = await _stored(runtime)
    assert (cases, conversations, len(blobs)) == (1, 1, 3)
    for path in blobs:  # at rest only envelopes: no JPEG or PNG signature, no metadata
        raw = path.read_bytes()
        assert raw.startswith(b"KFE1")
        assert b"KefuCam" not in raw
        assert b"\xff\xd8\xff" not in raw[:16]
    keyring = keyring_from_settings(runtime.settings)
    async with runtime.sessionmaker() as session:
        case = await session.scalar(select(RecoveryCase))
        assert case is not None
        assert (case.email, case.exchange_uid, case.phone, case.reason) == (
            "bob.trader@example.com",
            "10000002",
            "+447700900123",
            "lost_2fa",
        )
        rows = (
            await session.execute(
                select(RecoveryDocument, Attachment).join(
                    Attachment, Attachment.id == RecoveryDocument.attachment_id
                )
            )
        ).all()
        assert sorted(str(d.kind) for d, _a in rows) == ["id_back", "id_front", "selfie"]
        for _document, attachment in rows:
            assert attachment.sensitive
            photo = await open_document(runtime.blobs, keyring, attachment.blob_key, attachment.id)
            assert b"KefuCam" not in photo
            assert b"GPS" not in photo
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == "mail.send")))
    payloads: list[dict[str, Any]] = [job.payload for job in jobs]
    assert [p["template"] for p in payloads] == ["recovery_received"]
    assert payloads[0]["to"] == "bob.trader@example.com"


async def test_the_back_of_the_document_is_optional(client: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await _post(client, id_back=None)
    assert response.status_code == 303
    assert (await _stored(runtime))[2].__len__() == 2


async def test_missing_photos_and_bad_fields_answer_422_and_keep_what_was_typed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    fields = _fields(email="not-an-email", exchange_uid=HOSTILE, phone="12", description="x\x00y", consent="")
    response = await _post(client, fields=fields | {"reason": "hacked"}, id_front=None, selfie=b"")
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"
    for name in ("email", "exchange_uid", "phone", "reason", "description", "consent", "id_front", "selfie"):
        assert _error(response, name)
    assert _error(response, "id_front") == "Add this photo."
    assert 'value="not-an-email"' in response.text
    assert HOSTILE not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert await _stored(runtime) == (0, 0, [])


@pytest.mark.parametrize(
    ("photo", "status", "message"),
    [
        (pdf(), 415, "Send a JPEG, PNG or WebP photo."),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            415,
            "Send a JPEG, PNG or WebP photo.",
        ),
        (jpeg_with_exif()[:200], 422, "This photo could not be read. Take it again and send it."),
        (noise_png((400, 400)), 413, "This photo is larger than 0.3 MB."),
    ],
)
async def test_bad_photos_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: Runtime, photo: bytes, status: int, message: str
) -> None:
    assert len(photo) < LIMIT or status == 413
    response = await _post(client, selfie=photo)
    assert response.status_code == status, response.text[:2000]
    assert _error(response, "selfie") == message
    assert await _stored(runtime) == (0, 0, [])


async def test_a_body_far_over_the_limit_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    await client.get("/hc/en/recovery")
    response = await client.post(
        "/hc/en/recovery",
        content=b"x" * 10,
        headers=ORIGIN
        | {"content-type": "multipart/form-data; boundary=b", "content-length": str(10 * LIMIT)},
    )
    assert response.status_code == 413


async def test_foreign_origins_missing_tokens_and_other_bodies_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await client.get("/hc/en/recovery")
    token = client.cookies["kefu_csrf"]
    foreign = await client.post(
        "/hc/en/recovery",
        data={"csrf_token": token} | _fields(),
        files=_files(),
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    missing = await client.post("/hc/en/recovery", data=_fields(), files=_files(), headers=ORIGIN)
    assert missing.status_code == 403
    wrong = await client.post(
        "/hc/en/recovery", data={"csrf_token": "x" * 32} | _fields(), files=_files(), headers=ORIGIN
    )
    assert wrong.status_code == 403
    urlencoded = await client.post("/hc/en/recovery", data={"csrf_token": token} | _fields(), headers=ORIGIN)
    assert urlencoded.status_code == 415
    garbage = await client.post(
        "/hc/en/recovery",
        content=b"--b\r\nnonsense",
        headers=ORIGIN | {"content-type": "multipart/form-data; boundary=b"},
    )
    assert garbage.status_code in (400, 403)
    assert (await client.post("/hc/xx/recovery", data={}, headers=ORIGIN)).status_code == 404
    assert await _stored(runtime) == (0, 0, [])


async def test_duplicate_fields_are_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await client.get("/hc/en/recovery")
    token = client.cookies["kefu_csrf"]
    data: dict[str, Any] = (
        {"csrf_token": token} | _fields() | {"email": ["bob@example.com", "mallory@example.com"]}
    )
    response = await client.post("/hc/en/recovery", data=data, files=_files(), headers=ORIGIN)
    assert response.status_code == 400
    assert await _stored(runtime) == (0, 0, [])


async def test_an_address_may_send_only_a_few_requests_an_hour(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await _post(client, id_front=None)).status_code == 422
    limited = await _post(client)
    assert limited.status_code == 429
    assert "Too many requests" in limited.text


async def test_the_confirmation_shows_only_well_formed_references(client: httpx.AsyncClient) -> None:
    page = await client.get("/hc/zh-CN/recovery/submitted", params={"reference": HOSTILE})
    assert page.status_code == 200
    assert "hc-reference" not in page.text
    assert "<script>alert" not in page.text


async def test_a_failed_transaction_leaves_no_sealed_blob_behind(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.web.helpcenter import recovery

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(recovery, "do_submit_recovery", broken)
    with pytest.raises(RuntimeError):
        await _post(client)
    assert await _stored(runtime) == (0, 0, [])

    async def refused(*args: object, **kwargs: object) -> None:
        raise InvalidInput("not a valid email address", fields={"customer.email": "bad"})

    monkeypatch.setattr(recovery, "do_submit_recovery", refused)
    response = await _post(client)
    assert response.status_code == 422
    assert _error(response, "email") == "Please check this field."
    assert await _stored(runtime) == (0, 0, [])
