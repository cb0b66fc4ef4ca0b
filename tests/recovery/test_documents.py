"""Identity documents at rest: only JPEG/PNG/WebP photos, re-encoded without metadata, stored sealed."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia
from kefu.recovery.documents import (
    context_for,
    discard_documents,
    document_limit,
    open_document,
    prepare_document,
    store_sealed_documents,
    watermarked,
)
from kefu.recovery.models import DocumentKind
from kefu.storage.envelope import DecryptionFailed, Keyring, open_sealed, sealed_key_id
from kefu.storage.local import LocalBlobStore
from tests.storage.samples import (
    SCRIPT,
    gif_polyglot,
    jpeg_declaring,
    jpeg_with_exif,
    noise_jpeg,
    pdf,
    png,
    png_with_metadata,
    webp,
)

KEYRING = Keyring.parse("k1:" + "A" * 43 + "=")
OTHER = Keyring.parse("k1:" + "B" * 43 + "=")
LIMIT = 1_000_000
PIXELS = 1_000_000


def _prepare(data: bytes, *, max_bytes: int = LIMIT, max_pixels: int = PIXELS) -> bytes:
    return prepare_document(data, max_bytes=max_bytes, max_pixels=max_pixels).data


def test_photos_are_re_encoded_without_any_metadata() -> None:
    for sample in (jpeg_with_exif(), png_with_metadata()):
        clean = _prepare(sample)
        assert b"KefuCam" not in clean
        assert b"FAKEICC" not in clean
        assert SCRIPT not in clean
        assert b"13800138000" not in clean
        with Image.open(io.BytesIO(clean)) as image:
            assert not image.getexif()
            assert "icc_profile" not in image.info
    assert prepare_document(webp("RGB"), max_bytes=LIMIT, max_pixels=PIXELS).content_type == "image/jpeg"
    assert prepare_document(webp("RGBA"), max_bytes=LIMIT, max_pixels=PIXELS).content_type == "image/png"


@pytest.mark.parametrize("sample", [pdf(), gif_polyglot(), b"just some text", b"<svg onload=alert(1)>"])
def test_anything_but_a_jpeg_png_or_webp_photo_is_refused(sample: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        _prepare(sample)


def test_empty_corrupt_oversized_and_bomb_photos_are_refused() -> None:
    with pytest.raises(InvalidInput):
        _prepare(b"")
    with pytest.raises(InvalidInput):
        _prepare(noise_jpeg()[:300])
    with pytest.raises(TooLarge):
        _prepare(noise_jpeg((256, 256)), max_bytes=5_000)
    with pytest.raises(TooLarge):
        _prepare(jpeg_declaring(50_000, 50_000))
    assert document_limit(50 * 1024 * 1024) == 10 * 1024 * 1024
    assert document_limit(2048) == 2048


async def test_sealed_round_trip_and_nothing_readable_at_rest(tmp_path: object) -> None:
    blobs = LocalBlobStore(tmp_path)  # type: ignore[arg-type]
    photo = prepare_document(png((40, 30), "red"), max_bytes=LIMIT, max_pixels=PIXELS)
    [document] = await store_sealed_documents(blobs, KEYRING, [(DocumentKind.ID_FRONT, photo)])
    at_rest = await blobs.get(document.blob_key)
    assert at_rest.startswith(b"KFE1")
    assert photo.data not in at_rest
    assert b"IHDR" not in at_rest
    assert sealed_key_id(at_rest) == "k1" == document.key_id
    assert document.size == len(photo.data)
    assert document.filename == "id_front.png"
    assert await open_document(blobs, KEYRING, document.blob_key, document.attachment_id) == photo.data
    # Bound to its attachment and its master key: another id or key does not open it.
    with pytest.raises(DecryptionFailed):
        await open_document(blobs, KEYRING, document.blob_key, uuid.uuid4())
    with pytest.raises(DecryptionFailed):
        open_sealed(OTHER, at_rest, context=context_for(document.attachment_id))
    await discard_documents(blobs, [document])
    assert not await blobs.exists(document.blob_key)


async def test_sealing_the_same_photo_twice_gives_different_blobs(tmp_path: object) -> None:
    blobs = LocalBlobStore(tmp_path)  # type: ignore[arg-type]
    photo = prepare_document(png(), max_bytes=LIMIT, max_pixels=PIXELS)
    first, second = await store_sealed_documents(
        blobs, KEYRING, [(DocumentKind.ID_FRONT, photo), (DocumentKind.ID_BACK, photo)]
    )
    # Purging one case's copy must never delete another's: envelopes are never content-deduplicated.
    assert first.blob_key != second.blob_key
    assert first.attachment_id != second.attachment_id


async def test_watermark_is_drawn_on_the_reviewers_copy() -> None:
    photo = prepare_document(png((300, 200), "white"), max_bytes=LIMIT, max_pixels=PIXELS)
    data, content_type = await watermarked(
        photo.data, photo.content_type, "KYC review - case KF-1", max_pixels=PIXELS
    )
    assert content_type == "image/png"
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (300, 200)
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is not None
    assert len(colours) > 1
