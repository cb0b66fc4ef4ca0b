"""One contract for every BlobStore adapter (local directory and S3)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from kefu.core.errors import InvalidInput, NotFound
from kefu.storage.base import BlobStore, blob_key

BAD_KEYS = [
    "",
    "../../etc/passwd",
    "a" * 63,
    "a" * 65,
    "A" * 64,
    "g" * 64,
    "ab/" + "c" * 61,
    "." * 64,
    "a" * 63 + "\n",
    "a" * 64 + "\n",
    "\x00" * 64,
    "../" + "a" * 61,
    "٠" * 64,  # Arabic-Indic zero: a Unicode digit, not an ASCII one
]


async def test_put_returns_sha256_and_get_roundtrips(blob_store: BlobStore) -> None:
    data = b"deposit screenshot \x00\xff bytes"
    key = await blob_store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert await blob_store.get(key) == data
    assert await blob_store.exists(key)


async def test_put_is_idempotent(blob_store: BlobStore) -> None:
    first = await blob_store.put(b"same bytes")
    second = await blob_store.put(b"same bytes")
    assert first == second
    assert await blob_store.get(first) == b"same bytes"


async def test_different_content_gets_different_keys(blob_store: BlobStore) -> None:
    a = await blob_store.put(b"a")
    b = await blob_store.put(b"b")
    assert a != b
    assert await blob_store.get(a) == b"a"
    assert await blob_store.get(b) == b"b"


async def test_empty_blob_is_storable(blob_store: BlobStore) -> None:
    key = await blob_store.put(b"")
    assert await blob_store.get(key) == b""


async def test_missing_blob_is_not_found(blob_store: BlobStore) -> None:
    key = blob_key(b"never stored")
    assert not await blob_store.exists(key)
    with pytest.raises(NotFound):
        await blob_store.get(key)


async def test_delete_removes_and_is_idempotent(blob_store: BlobStore) -> None:
    key = await blob_store.put(b"to be purged")
    await blob_store.delete(key)
    assert not await blob_store.exists(key)
    with pytest.raises(NotFound):
        await blob_store.get(key)
    await blob_store.delete(key)


async def test_put_after_delete_restores(blob_store: BlobStore) -> None:
    key = await blob_store.put(b"back again")
    await blob_store.delete(key)
    assert await blob_store.put(b"back again") == key
    assert await blob_store.get(key) == b"back again"


async def test_malformed_keys_are_rejected(blob_store: BlobStore) -> None:
    for key in BAD_KEYS:
        with pytest.raises(InvalidInput):
            await blob_store.get(key)
        with pytest.raises(InvalidInput):
            await blob_store.exists(key)
        with pytest.raises(InvalidInput):
            await blob_store.delete(key)


async def test_concurrent_puts_of_same_content(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 2048  # 512 KiB, so writes overlap
    keys = await asyncio.gather(*(blob_store.put(data) for _ in range(8)))
    assert set(keys) == {hashlib.sha256(data).hexdigest()}
    assert await blob_store.get(keys[0]) == data


async def test_concurrent_puts_of_different_content(blob_store: BlobStore) -> None:
    blobs = [f"file {i}".encode() * 1000 for i in range(20)]
    keys = await asyncio.gather(*(blob_store.put(b) for b in blobs))
    for key, data in zip(keys, blobs, strict=True):
        assert await blob_store.get(key) == data


async def test_large_blob_roundtrip(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * (5 * 4096)  # 5 MiB
    key = await blob_store.put(data)
    assert await blob_store.get(key) == data
