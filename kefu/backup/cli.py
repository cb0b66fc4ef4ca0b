"""The `kefu backup` and `kefu restore` commands (registered in kefu.cli)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer

from kefu.backup.archive import BackupError
from kefu.backup.service import create_backup, restore_backup
from kefu.cli_support import checked_settings, err

# Shown instead of a backup on PostgreSQL: its own tools do it better (docs/operations.md).
POSTGRES_PROCEDURE: Final = """\
The database is PostgreSQL and pg_dump/pg_restore are not installed (Debian: postgresql-client).
Back up PostgreSQL with its own tools (docs/operations.md, "PostgreSQL in production"):

  1. Database:  pg_dump --format=custom --file=kefu-$(date -u +%Y%m%dT%H%M%SZ).dump "$DATABASE_URL"
                (or continuous base backups + WAL archiving with pgBackRest for point-in-time recovery)
  2. Blobs:     S3-compatible storage: enable bucket versioning (and replication);
                local directory: rsync -a "$KEFU_DATA_DIR/blobs/" backup-host:kefu-blobs/ AFTER step 1
  3. Keys:      keep KEFU_SECRET_KEY and KEFU_DOCUMENT_KEYS in your secret store, not with the dump.

Restore: pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" kefu-....dump,
put the blobs back, run `kefu migrate`, then start Kefu. Rehearse it regularly (a restore drill)."""


def _default_output() -> Path:
    return Path(f"kefu-backup-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.tar.gz")


def backup_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Archive to write (default: ./kefu-backup-<time>.tar.gz)."),
    ] = None,
) -> None:
    """Write one consistent archive of the database and its blobs (safe while Kefu runs).

    SQLite: the online backup API; PostgreSQL: pg_dump in a snapshot (for point-in-time recovery use
    WAL archiving, docs/operations.md). Blobs in S3-compatible storage are not archived.
    """
    settings = checked_settings()
    if not settings.is_sqlite and shutil.which("pg_dump") is None:
        typer.echo(POSTGRES_PROCEDURE, err=True)
        raise typer.Exit(2)
    try:
        report = create_backup(settings, output or _default_output())
    except BackupError as exc:
        err.print(f"backup failed: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    manifest = report.manifest
    for key in manifest.missing_blobs:
        err.print(f"warning: blob {key} is referenced by the database but missing", style="yellow")
    for key in report.corrupt_blobs:
        err.print(f"warning: blob {key} does not match its checksum and was left out", style="yellow")
    if not manifest.blobs_included:
        err.print("note: blobs are in S3-compatible storage and not in the archive (use bucket versioning)")
    blobs = len(manifest.files) - 1
    err.print(
        f"Backup written to {report.path}: database at revision {manifest.alembic_revision}, {blobs} blob(s)",
        markup=False,
        highlight=False,
    )
    typer.echo(str(report.path))


def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive written by `kefu backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Restore a `kefu backup` archive into the configured database and blob directory.

    Stop every Kefu process first. Refuses a database that holds data unless --force.
    """
    settings = checked_settings()
    if not settings.is_sqlite and shutil.which("pg_restore") is None:
        typer.echo(POSTGRES_PROCEDURE, err=True)
        raise typer.Exit(2)
    try:
        report = restore_backup(settings, archive, force=force)
    except BackupError as exc:
        err.print(f"restore refused: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    manifest = report.manifest
    err.print(
        f"Restored the backup of {manifest.created_at} (Kefu {manifest.kefu_version}) into "
        f"the {report.database} database with {report.blobs} blob(s).",
        markup=False,
        highlight=False,
    )
    if manifest.missing_blobs:
        err.print(f"warning: {len(manifest.missing_blobs)} blob(s) were already missing at backup time")
    if report.needs_migration:
        err.print("The backup's schema is older than this Kefu: run `kefu migrate` before `kefu serve`.")
