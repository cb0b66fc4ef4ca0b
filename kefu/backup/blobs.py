"""Which columns hold blob keys, and moving verified blobs into the local store."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Final

from kefu.backup.archive import FileEntry, add_bytes, blob_member
from kefu.registry import load_models
from kefu.storage.base import blob_key

# Columns holding blob keys are named like these (attachments.blob_key, inbound_emails.raw_key, ...).
_BLOB_COLUMN_SUFFIXES: Final = ("blob_key", "raw_key")
_HEX: Final = frozenset("0123456789abcdef")


def blob_columns() -> list[tuple[str, str]]:
    """(table, column) of every column holding blob keys, from the models."""
    return sorted(
        (table.name, column.name)
        for table in load_models().sorted_tables
        for column in table.columns
        if column.name.endswith(_BLOB_COLUMN_SUFFIXES)
    )


def add_blob(archive: tarfile.TarFile, blob_dir: Path, key: str) -> FileEntry | None:
    """Add the blob `key` unless it is missing (None) or its bytes do not hash to `key` (left out)."""
    if len(key) != 64 or not set(key) <= _HEX:
        return None
    path = blob_dir / key[0:2] / key[2:4] / key
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    entry = FileEntry(blob_member(key), len(data), blob_key(data))
    if entry.sha256 == key:
        add_bytes(archive, entry.path, data)
    return entry


def move_blobs(source: Path, blob_dir: Path) -> int:
    """Move staged, verified blobs into the store (an existing one is the same bytes); how many."""
    moved = 0
    if not source.is_dir():
        return 0
    for path in sorted(source.glob("*/*/*")):
        target = blob_dir / path.parent.parent.name / path.parent.name / path.name
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not target.is_file():
            fsync_file(path)
            os.replace(path, target)
        moved += 1
    if moved:
        fsync_dir(blob_dir)
    return moved


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(directory: Path) -> None:
    """Persist renames inside `directory`."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
