"""The backup archive: a tar.gz of the database (`database/kefu.db` from SQLite, `database/kefu.dump`
from PostgreSQL's pg_dump), the blobs (`blobs/ab/cd/<sha256>`) and `manifest.json`.

Reading never trusts the archive: every member name must be one of those three shapes exactly (no
directories, links, devices, absolute paths or `..`), each file is streamed into a staging directory
under a name built by us, and its sha256 and size must match the manifest, which must list exactly
the files present. Nothing is ever extracted by tarfile itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

FORMAT: Final = "kefu-backup"
FORMAT_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
DATABASE_NAME: Final = "database/kefu.db"
DUMP_NAME: Final = "database/kefu.dump"
DATABASE_MEMBERS: Final = {"sqlite": DATABASE_NAME, "postgresql": DUMP_NAME}
_BLOB_NAME: Final = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_MAX_MANIFEST_BYTES: Final = 256 * 1024 * 1024
_CHUNK: Final = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass(frozen=True)
class FileEntry:
    """One file of the archive as the manifest records it."""

    path: str
    size: int
    sha256: str


@dataclass
class Manifest:
    """What the archive holds and which code wrote it."""

    kefu_version: str
    alembic_revision: str | None
    created_at: str
    database: str = "sqlite"
    # False when the blobs live in S3-compatible storage (covered by bucket versioning, not the archive).
    blobs_included: bool = True
    files: list[FileEntry] = field(default_factory=list)
    missing_blobs: list[str] = field(default_factory=list)

    @property
    def database_member(self) -> str:
        """The archive name of the database file."""
        return DATABASE_MEMBERS[self.database]

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON."""
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kefu_version": self.kefu_version,
            "database": self.database,
            "blobs_included": self.blobs_included,
            "alembic_revision": self.alembic_revision,
            "created_at": self.created_at,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "missing_blobs": self.missing_blobs,
        }
        return json.dumps(document, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; BackupError when it is not one this code understands."""
        try:
            document: Any = json.loads(data)
            if document.get("format") != FORMAT:
                raise BackupError("not a Kefu backup (the manifest's format is wrong)")
            if document.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {document.get('format_version')!r} is not supported"
                )
            database = document.get("database")
            if database not in DATABASE_MEMBERS:
                raise BackupError(f"unknown database kind {str(database)[:40]!r} in the manifest")
            revision = document["alembic_revision"]
            files = [FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in document["files"]]
            return cls(
                kefu_version=str(document["kefu_version"]),
                alembic_revision=None if revision is None else str(revision),
                created_at=str(document["created_at"]),
                database=str(database),
                blobs_included=bool(document.get("blobs_included", True)),
                files=files,
                missing_blobs=[str(key) for key in document.get("missing_blobs", [])],
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"the manifest is malformed ({type(exc).__name__})") from None


def blob_member(key: str) -> str:
    """The archive name of the blob `key` (the local store's own fan-out)."""
    return f"blobs/{key[0:2]}/{key[2:4]}/{key}"


def check_member_name(name: str) -> str:
    """`name` if it is a member this format may hold; BackupError otherwise (hostile or foreign)."""
    if name in (MANIFEST_NAME, DATABASE_NAME, DUMP_NAME):
        return name
    match = _BLOB_NAME.fullmatch(name)
    if match is None or not match.group(3).startswith(match.group(1) + match.group(2)):
        raise BackupError(f"unexpected file in the archive: {name[:200]!r}")
    return name


def add_file(archive: tarfile.TarFile, name: str, source: IO[bytes], size: int) -> None:
    """Write one regular file member (owner and mode neutral)."""
    info = tarfile.TarInfo(check_member_name(name))
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    archive.addfile(info, source)


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Write one member from memory."""
    import io

    add_file(archive, name, io.BytesIO(data), len(data))


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file on disk."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _staged_path(staging: Path, name: str) -> Path:
    # Built from the checked name's parts only: never a path the archive chose.
    if name == DATABASE_NAME:
        return staging / "kefu.db"
    if name == DUMP_NAME:
        return staging / "kefu.dump"
    match = _BLOB_NAME.fullmatch(name)
    assert match is not None
    return staging / "blobs" / match.group(1) / match.group(2) / match.group(3)


def unpack(archive_path: Path, staging: Path) -> tuple[Manifest, dict[str, Path]]:
    """Stream the archive's files into `staging` and verify them against its manifest.

    Returns the manifest and where each member was staged. BackupError for anything unexpected:
    an unreadable or truncated archive, a hostile or unknown name, a link, a duplicate, a file
    missing from the manifest or listed but absent, a size or checksum that does not match.
    """
    staged: dict[str, Path] = {}
    found: dict[str, FileEntry] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            for member in archive:
                name = check_member_name(member.name)
                if not member.isreg():
                    raise BackupError(f"{name!r} in the archive is not a regular file")
                if name in found or (name == MANIFEST_NAME and manifest_bytes is not None):
                    raise BackupError(f"{name!r} appears twice in the archive")
                source = archive.extractfile(member)
                assert source is not None  # regular files always have content
                if name == MANIFEST_NAME:
                    if member.size > _MAX_MANIFEST_BYTES:
                        raise BackupError("the manifest is implausibly large")
                    manifest_bytes = source.read()
                    continue
                target = _staged_path(staging, name)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[name] = FileEntry(name, size, digest.hexdigest())
                staged[name] = target
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(f"the archive cannot be read ({type(exc).__name__}: {exc})") from None
    if manifest_bytes is None:
        raise BackupError("the archive has no manifest.json")
    manifest = Manifest.from_json(manifest_bytes)
    _verify(manifest, found)
    return manifest, staged


def _verify(manifest: Manifest, found: dict[str, FileEntry]) -> None:
    listed = {entry.path: entry for entry in manifest.files}
    if len(listed) != len(manifest.files):
        raise BackupError("the manifest lists a file twice")
    if manifest.database_member not in listed:
        raise BackupError("the manifest lists no database")
    if {m for kind, m in DATABASE_MEMBERS.items() if kind != manifest.database} & listed.keys():
        raise BackupError("the archive holds a database of another kind than the manifest says")
    for name in listed.keys() - found.keys():
        raise BackupError(f"{name!r} is listed in the manifest but missing from the archive")
    for name in found.keys() - listed.keys():
        raise BackupError(f"{name!r} is in the archive but not in the manifest")
    for name, entry in found.items():
        if entry != listed[name]:
            raise BackupError(f"{name!r} does not match its checksum: the archive is corrupted")
        match = _BLOB_NAME.fullmatch(name)
        if match is not None and entry.sha256 != match.group(3):
            raise BackupError(f"{name!r} does not match its content address: the archive is corrupted")
