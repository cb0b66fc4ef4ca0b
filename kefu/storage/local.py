"""Blobs as files under a private directory: root/ab/cd/<sha256>, written atomically."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

import kefu
from kefu.core.errors import NotFound
from kefu.storage.base import blob_key, check_key

# Anything inside the package tree may end up served as static files or shipped in a wheel.
_PACKAGE_DIR = Path(kefu.__file__).resolve().parent


class LocalBlobStore:
    """A `BlobStore` on the local file system; blocking I/O runs in worker threads."""

    def __init__(self, root: Path) -> None:
        resolved = root.resolve()
        if resolved == _PACKAGE_DIR or resolved.is_relative_to(_PACKAGE_DIR):
            raise ValueError("the blob directory must not be inside the kefu package (it could be served)")
        self._root = resolved

    @property
    def root(self) -> Path:
        """The directory holding the blobs."""
        return self._root

    def _path(self, key: str) -> Path:
        check_key(key)
        # Two levels of fan-out keep directories small even with millions of blobs.
        return self._root / key[0:2] / key[2:4] / key

    async def put(self, data: bytes) -> str:
        """Store `data` and return its sha256 hex key; idempotent."""
        key = blob_key(data)
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    async def get(self, key: str) -> bytes:
        """The bytes stored under `key`; NotFound when absent."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("blob not found") from None

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under `key`."""
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        """Remove the blob under `key` if present."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def close(self) -> None:
        """Nothing to release: files are opened and closed per call."""

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.is_file():
            # Same name means same content, and files only appear through os.replace, so the
            # existing file is complete.
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A unique temporary name per writer lets concurrent puts of one blob race harmlessly:
        # each renames a complete copy over the final name.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Persist the rename itself; without this a crash can lose a blob the database already points to.
    if os.name != "posix":
        return
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
