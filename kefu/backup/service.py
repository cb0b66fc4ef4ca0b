"""Backup and restore: one archive of the database plus the blobs it references, consistent.

SQLite (the embedded default): the database is copied with SQLite's online backup API in one step,
which reads one consistent snapshot while `kefu serve` keeps writing (WAL mode: readers never block
writers). PostgreSQL: pg_dump runs in an exported snapshot (kefu.backup.postgres). Either way the blob
keys are read from that same snapshot; blobs are immutable and written before the rows that point at
them, so every blob the snapshot references is already on disk (one that is not is reported, not
fatal). Blobs written after the snapshot are not needed by it and are left out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Final

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from kefu.backup.archive import BackupError, FileEntry, Manifest, add_bytes, add_file, file_digest, unpack
from kefu.backup.blobs import add_blob, blob_columns, fsync_dir, fsync_file, move_blobs
from kefu.backup.postgres import dump_postgres, postgres_has_data, restore_postgres
from kefu.db.migrate import alembic_config
from kefu.settings import Settings

# Tables that hold rows even in a database with no data (SQLite's FTS5 shadow tables, Alembic's own).
_BOOKKEEPING_PREFIXES: Final = ("alembic_version", "sqlite_", "search_fts")


@dataclass(frozen=True)
class BackupReport:
    """What `create_backup` wrote."""

    path: Path
    manifest: Manifest
    corrupt_blobs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreReport:
    """What `restore_backup` put in place."""

    manifest: Manifest
    database: str
    blobs: int
    needs_migration: bool


def kefu_version() -> str:
    """The installed Kefu version."""
    try:
        return version("kefu")
    except PackageNotFoundError:  # pragma: no cover - a tree that was never installed
        return "unknown"


def database_kind(settings: Settings) -> str:
    """ "sqlite" or "postgresql"."""
    return "sqlite" if settings.is_sqlite else "postgresql"


def sqlite_path(settings: Settings) -> Path:
    """The database file of an SQLite deployment; BackupError for any other database."""
    if not settings.is_sqlite:
        raise BackupError("the database is not SQLite")
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(database)


def _snapshot(source: Path, target: Path) -> None:
    """Copy `source` into `target` with the online backup API, in one consistent step."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: all at once, so no writer can interleave
        # A self-contained file: no -wal beside it is needed to read it (the server turns WAL back on).
        dst.execute("PRAGMA journal_mode=DELETE")
        result = dst.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise BackupError(f"the database snapshot failed its integrity check: {result}")
    finally:
        dst.close()
        src.close()


def _revision(database: Path) -> str | None:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


def _referenced_blobs(database: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        keys: set[str] = set()
        for table, column in blob_columns():
            if table in tables:
                query = f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'  # noqa: S608 - names from our models
                keys.update(str(row[0]) for row in connection.execute(query))
    finally:
        connection.close()
    return sorted(keys)


def _database_copy(settings: Settings, work: Path) -> tuple[Path, str | None, list[str]]:
    """A consistent copy of the database in `work`; (file, schema revision, referenced blob keys)."""
    if settings.is_sqlite:
        copy = work / "kefu.db"
        _snapshot(sqlite_path(settings), copy)
        return copy, _revision(copy), _referenced_blobs(copy)
    copy = work / "kefu.dump"
    revision, keys = dump_postgres(settings.database_url, copy)
    return copy, revision, keys


def create_backup(settings: Settings, output: Path) -> BackupReport:
    """Write a consistent archive of the database and its local blobs to `output` (must not exist).

    With S3-compatible blob storage only the database is archived (`blobs_included` false): the
    bucket is protected by versioning instead (docs/operations.md). Not for use inside a running
    event loop on PostgreSQL (it runs its own): call it from a thread there.
    """
    if output.exists():
        raise BackupError(f"{output} already exists")
    output.parent.mkdir(parents=True, exist_ok=True)
    local_blobs = settings.blob_backend == "local"
    with tempfile.TemporaryDirectory(prefix="kefu-backup-") as work:
        copy, revision, keys = _database_copy(settings, Path(work))
        manifest = Manifest(
            kefu_version=kefu_version(),
            alembic_revision=revision,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            database=database_kind(settings),
            blobs_included=local_blobs,
        )
        size, digest = file_digest(copy)
        manifest.files.append(FileEntry(manifest.database_member, size, digest))
        corrupt: list[str] = []
        with _atomic_output(output) as partial, tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            with copy.open("rb") as handle:
                add_file(archive, manifest.database_member, handle, size)
            for key in keys if local_blobs else []:
                entry = add_blob(archive, settings.blob_dir, key)
                if entry is None:
                    manifest.missing_blobs.append(key)
                elif entry.sha256 != key:
                    corrupt.append(key)
                else:
                    manifest.files.append(entry)
            add_bytes(archive, "manifest.json", manifest.to_json())
    return BackupReport(path=output, manifest=manifest, corrupt_blobs=corrupt)


@contextlib.contextmanager
def _atomic_output(output: Path) -> Iterator[Path]:
    """A temporary path next to `output`, renamed onto it only when the block succeeds."""
    fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def database_has_data(database: Path) -> bool:
    """Whether the SQLite file at `database` holds any rows (a freshly migrated one holds none)."""
    if not database.is_file() or database.stat().st_size == 0:
        return False
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in names:
            if name.startswith(_BOOKKEEPING_PREFIXES):
                continue
            quoted = name.replace('"', '""')
            if connection.execute(f'SELECT 1 FROM "{quoted}" LIMIT 1').fetchone():  # noqa: S608 - a table name read from the file
                return True
    except sqlite3.DatabaseError:
        return True  # unreadable is not "empty": only --force may replace it
    finally:
        connection.close()
    return False


def check_revision(settings: Settings, revision: str | None) -> bool:
    """Refuse a schema this code does not know; True when the restored database needs `kefu migrate`."""
    if revision is None:
        raise BackupError("the backup's database has no schema revision (it was not made by `kefu migrate`)")
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema revision {revision!r} is newer than this Kefu knows: "
            "restore it with the Kefu version that made it (or a later one)"
        )
    return revision != script.get_current_head()


def restore_backup(settings: Settings, archive: Path, *, force: bool = False) -> RestoreReport:
    """Verify `archive` and put its database and blobs in place of this deployment's.

    Preconditions: no Kefu process uses the database (stop `kefu serve` and workers first). Refuses
    a database that holds data unless `force`, and an archive of the other database kind. Blobs are
    moved in first; then SQLite's file replaces the old one with one rename, or pg_restore runs in a
    single transaction, so a failure leaves the old database or the new one, never a mix.
    """
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    kind = database_kind(settings)
    has_data = (
        database_has_data(sqlite_path(settings))
        if settings.is_sqlite
        else postgres_has_data(settings.database_url)
    )
    if has_data and not force:
        raise BackupError("the configured database already holds data: pass --force to replace it")
    staging_parent = sqlite_path(settings).parent if settings.is_sqlite else settings.data_dir
    staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=staging_parent, prefix=".kefu-restore-"))
    try:
        manifest, staged = unpack(archive, staging)
        if manifest.database != kind:
            raise BackupError(f"this is a {manifest.database} backup but the configured database is {kind}")
        needs_migration = check_revision(settings, manifest.alembic_revision)
        if manifest.blobs_included and settings.blob_backend != "local":
            raise BackupError("the archive holds blobs but KEFU_BLOB_BACKEND is not local")
        if settings.is_sqlite and _revision(staged[manifest.database_member]) != manifest.alembic_revision:
            raise BackupError("the database's schema revision differs from the manifest's")
        blobs = move_blobs(staging / "blobs", settings.blob_dir)
        if settings.is_sqlite:
            _replace_sqlite(staged[manifest.database_member], sqlite_path(settings))
        else:
            restore_postgres(settings.database_url, staged[manifest.database_member])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreReport(manifest=manifest, database=kind, blobs=blobs, needs_migration=needs_migration)


def _replace_sqlite(staged: Path, database: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        # Left beside the new file, the old database's journal would be replayed onto it.
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    fsync_file(staged)
    os.replace(staged, database)
    fsync_dir(database.parent)
