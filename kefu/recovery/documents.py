"""Identity documents' bytes: checked and re-encoded on upload, sealed at rest, watermarked when viewed.

The blob store only ever holds the sealed envelope (AES-256-GCM under a fresh data key wrapped by the
active master key). The envelope's context is b"attachment:<attachment id>", so an envelope copied
onto another attachment does not open. Plaintext exists only in memory: while the upload is being
re-encoded, and while a reviewer's view is being watermarked.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import structlog

from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia
from kefu.core.ids import new_id
from kefu.recovery.models import DocumentKind
from kefu.storage.base import BlobStore
from kefu.storage.envelope import Keyring, open_sealed, seal, sealed_key_id
from kefu.storage.images import ReencodedImage, reencode_image
from kefu.storage.sniff import JPEG, PNG, WEBP, sniff
from kefu.storage.watermark import watermark_image

log = structlog.get_logger(__name__)

# Phone photos of a document are 2–6 MB; anything far larger is not a photo of an ID card.
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
ALLOWED_TYPES: Final = frozenset({JPEG.mime, PNG.mime, WEBP.mime})


@dataclass(frozen=True)
class SealedDocument:
    """A document sealed and stored for an attachment that does not exist yet (same id)."""

    kind: DocumentKind
    attachment_id: uuid.UUID
    blob_key: str
    key_id: str
    content_type: str
    size: int  # of the re-encoded plaintext
    width: int
    height: int

    @property
    def filename(self) -> str:
        """A generated name (the customer's file name is never kept)."""
        return f"{self.kind.value}{'.png' if self.content_type == PNG.mime else '.jpg'}"


def document_limit(upload_max_bytes: int) -> int:
    """The size limit of one document: the smaller of MAX_DOCUMENT_BYTES and the general upload limit."""
    return min(MAX_DOCUMENT_BYTES, upload_max_bytes)


def context_for(attachment_id: uuid.UUID) -> bytes:
    """The envelope context binding a sealed blob to its attachment."""
    return b"attachment:" + str(attachment_id).encode("ascii")


def prepare_document(data: bytes, *, max_bytes: int, max_pixels: int) -> ReencodedImage:
    """A JPEG, PNG or WebP photo decoded and re-encoded without metadata; blocking (run in a thread).

    InvalidInput when empty or corrupt, TooLarge over `max_bytes` or `max_pixels`, UnsupportedMedia
    for anything but those three image types (judged from the content, never the name).
    """
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than the limit of {max_bytes} bytes")
    sniffed = sniff(data)
    if sniffed.mime not in ALLOWED_TYPES:
        raise UnsupportedMedia("identity documents must be JPEG, PNG or WebP photos")
    image = reencode_image(data, sniffed.mime, max_pixels=max_pixels)
    if len(image.data) > max_bytes:
        raise TooLarge(f"the re-encoded photo is larger than the limit of {max_bytes} bytes")
    return image


async def store_sealed_documents(
    blobs: BlobStore, keyring: Keyring, images: Iterable[tuple[DocumentKind, ReencodedImage]]
) -> list[SealedDocument]:
    """Seal each image for a new attachment id and store it; on failure, what was stored is deleted."""
    stored: list[SealedDocument] = []
    try:
        for kind, image in images:
            attachment_id = new_id()
            sealed = await asyncio.to_thread(seal, keyring, image.data, context=context_for(attachment_id))
            key = await blobs.put(sealed)
            stored.append(
                SealedDocument(
                    kind=kind,
                    attachment_id=attachment_id,
                    blob_key=key,
                    key_id=sealed_key_id(sealed),
                    content_type=image.content_type,
                    size=len(image.data),
                    width=image.width,
                    height=image.height,
                )
            )
    except BaseException:
        await discard_documents(blobs, stored)
        raise
    return stored


async def discard_documents(blobs: BlobStore, documents: Iterable[SealedDocument]) -> None:
    """Delete the sealed blobs of documents whose records were never committed (best effort)."""
    for document in documents:
        try:
            await blobs.delete(document.blob_key)
        except Exception:  # an orphan envelope is unreadable without its record: keep going
            log.warning("recovery_document_not_discarded", blob_key=document.blob_key, exc_info=True)


async def open_document(blobs: BlobStore, keyring: Keyring, blob_key: str, attachment_id: uuid.UUID) -> bytes:
    """The plaintext photo of a stored document; DecryptionFailed if the envelope does not open."""
    sealed = await blobs.get(blob_key)
    return await asyncio.to_thread(open_sealed, keyring, sealed, context=context_for(attachment_id))


async def watermarked(data: bytes, content_type: str, text: str, *, max_pixels: int) -> tuple[bytes, str]:
    """The photo with `text` drawn across it (CPU work off the event loop); returns (bytes, type)."""
    return await asyncio.to_thread(watermark_image, data, content_type, text, max_pixels=max_pixels)
