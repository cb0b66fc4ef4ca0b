"""The upload pipeline: limit, sniff, re-encode images, sanitize the name, store by content hash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kefu.core.errors import InvalidInput, TooLarge
from kefu.storage.base import BlobStore
from kefu.storage.filenames import replace_extension, sanitize_filename
from kefu.storage.images import reencode_image
from kefu.storage.sniff import TEXT, SniffedType, decode_text, sniff


@dataclass(frozen=True)
class StoredFile:
    """What was stored: the blob key and the facts an Attachment row records."""

    key: str
    size: int
    content_type: str
    filename: str
    is_image: bool
    width: int | None
    height: int | None


@dataclass(frozen=True)
class _Prepared:
    data: bytes
    content_type: str
    extension: str
    width: int | None = None
    height: int | None = None


def _prepare(data: bytes, max_pixels: int) -> _Prepared:
    sniffed: SniffedType = sniff(data)
    if sniffed.is_image:
        image = reencode_image(data, sniffed.mime, max_pixels=max_pixels)
        return _Prepared(image.data, image.content_type, image.extension, image.width, image.height)
    if sniffed == TEXT:
        text = decode_text(data)
        if text is not None:
            # Stored as UTF-8 whatever the client used (GB18030 included), so it is always served
            # with one charset.
            return _Prepared(text.encode("utf-8"), sniffed.mime, sniffed.extension)
    return _Prepared(data, sniffed.mime, sniffed.extension)


async def store_upload(
    store: BlobStore, data: bytes, filename: str, *, max_bytes: int, max_pixels: int
) -> StoredFile:
    """Validate and store an uploaded file; raises InvalidInput, TooLarge or UnsupportedMedia.

    The type comes from the content only; images are re-encoded without metadata; text is stored
    as UTF-8; the name is sanitized and given the extension of the stored type.
    """
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than the limit of {max_bytes} bytes")
    # Sniffing decodes text and images decode pixels: both are CPU work kept off the event loop.
    prepared = await asyncio.to_thread(_prepare, data, max_pixels)
    if len(prepared.data) > max_bytes:
        raise TooLarge(f"the re-encoded file is larger than the limit of {max_bytes} bytes")
    key = await store.put(prepared.data)
    return StoredFile(
        key=key,
        size=len(prepared.data),
        content_type=prepared.content_type,
        filename=replace_extension(sanitize_filename(filename), prepared.extension),
        is_image=prepared.content_type.startswith("image/"),
        width=prepared.width,
        height=prepared.height,
    )
