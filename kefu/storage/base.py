"""The `BlobStore` port: immutable blobs addressed by the sha256 of their content."""

from __future__ import annotations

import hashlib
import re
from typing import Protocol

from kefu.core.errors import InvalidInput

# Exactly 64 lowercase hex digits: no separators, dots or case variants, so a key can never
# name a path outside the store or alias another blob.
_KEY_RE = re.compile(r"[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    """The content address (sha256, lowercase hex) of `data`."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """Return `key` unchanged if it is a well-formed blob key; raise InvalidInput otherwise."""
    if not isinstance(key, str) or _KEY_RE.fullmatch(key) is None:
        raise InvalidInput("invalid blob key")
    return key


class BlobStore(Protocol):
    """Where attachment bytes live; every adapter passes the same contract tests."""

    async def put(self, data: bytes) -> str:
        """Store `data` and return its sha256 hex key; storing the same bytes again is a no-op."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`; NotFound when absent, InvalidInput for a malformed key."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key` (InvalidInput for a malformed key)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob under `key`; deleting a missing blob is not an error."""
        ...

    async def close(self) -> None:
        """Release connections and other resources held by the store."""
        ...
