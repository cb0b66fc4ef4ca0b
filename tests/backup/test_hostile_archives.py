"""Restore trusts nothing in the archive: corrupted, tampered, foreign or hostile ones are refused whole."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kefu.backup.archive import BackupError
from kefu.backup.service import create_backup, restore_backup
from kefu.settings import Settings

KEY = hashlib.sha256(b"blob").hexdigest()


@pytest.fixture
def good_archive(new_site: Callable[[str], Settings], tmp_path: Path) -> Path:
    site = new_site("origin")
    site.blob_dir.joinpath(KEY[:2], KEY[2:4]).mkdir(parents=True)
    return create_backup(site, tmp_path / "good.tar.gz").path


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]


def _write(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _untouched(target: Settings) -> None:
    """The target keeps its empty database, no blobs and no staging leftovers."""
    assert not target.blob_dir.exists()
    assert not list(target.data_dir.glob(".kefu-restore-*"))
    connection = sqlite3.connect(target.data_dir / "kefu.db")
    try:
        assert connection.execute("SELECT count(*) FROM agents").fetchone() == (0,)
    finally:
        connection.close()


def test_a_flipped_byte_is_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    data = bytearray(good_archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(bytes(data))
    target = new_site("target")
    with pytest.raises(BackupError):
        restore_backup(target, broken)
    _untouched(target)


def test_a_truncated_archive_is_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good_archive.read_bytes()[: good_archive.stat().st_size // 2])
    target = new_site("target")
    with pytest.raises(BackupError, match="cannot be read"):
        restore_backup(target, truncated)
    _untouched(target)


def test_a_tampered_database_with_the_old_manifest_is_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    members = _members(good_archive)
    database = bytearray(members["database/kefu.db"])
    database[-1] ^= 0x01
    tampered = _write(
        tmp_path / "tampered.tar.gz",
        [_file("database/kefu.db", bytes(database)), _file("manifest.json", members["manifest.json"])],
    )
    target = new_site("target")
    with pytest.raises(BackupError, match="checksum"):
        restore_backup(target, tampered)
    _untouched(target)


def test_files_not_in_the_manifest_or_missing_from_the_archive_are_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    members = _members(good_archive)
    extra = _write(
        tmp_path / "extra.tar.gz",
        [
            _file("database/kefu.db", members["database/kefu.db"]),
            _file(f"blobs/{KEY[:2]}/{KEY[2:4]}/{KEY}", b"blob"),
            _file("manifest.json", members["manifest.json"]),
        ],
    )
    missing = _write(tmp_path / "missing.tar.gz", [_file("manifest.json", members["manifest.json"])])
    no_manifest = _write(tmp_path / "bare.tar.gz", [_file("database/kefu.db", members["database/kefu.db"])])
    target = new_site("target")
    for archive, reason in (
        (extra, "not in the manifest"),
        (missing, "missing"),
        (no_manifest, "no manifest"),
    ):
        with pytest.raises(BackupError, match=reason):
            restore_backup(target, archive)
        _untouched(target)


def _symlink(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _directory(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, None


@pytest.mark.parametrize(
    "hostile",
    [
        _file("../escaped", b"x"),
        _file("/tmp/kefu-absolute-escape", b"x"),
        _file("database/../../escaped", b"x"),
        _file(f"blobs/../../{KEY}", b"x"),
        _file(f"blobs/{KEY[:2]}/{KEY[2:4]}/../../../../escaped", b"x"),
        _file(f"blobs/00/00/{KEY}", b"x"),  # the fan-out must be the key's own
        _file("blobs\\..\\escaped", b"x"),
        _file("database/kefu.db/", b"x"),
        _file("./database/kefu.db", b"x"),
        _symlink("database/kefu.db", "/etc/passwd"),
        _symlink("database/kefu.db", "../../escaped", tarfile.LNKTYPE),
        _directory("blobs/ab"),
        _file("notes.txt", b"x"),
    ],
    ids=lambda member: member[0].name,
)
def test_hostile_member_names_and_types_are_refused(
    hostile: tuple[tarfile.TarInfo, bytes | None],
    good_archive: Path,
    new_site: Callable[[str], Settings],
    tmp_path: Path,
) -> None:
    members = _members(good_archive)
    archive = _write(
        tmp_path / "hostile.tar.gz",
        [
            hostile,
            _file("database/kefu.db", members["database/kefu.db"]),
            _file("manifest.json", members["manifest.json"]),
        ],
    )
    target = new_site("target")
    with pytest.raises(BackupError):
        restore_backup(target, archive)
    _untouched(target)
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/kefu-absolute-escape").exists()
    assert {p.name for p in tmp_path.iterdir()} == {"origin", "target", "good.tar.gz", "hostile.tar.gz"}


def _with_revision(members: dict[str, bytes], revision: str, tmp_path: Path) -> tuple[bytes, bytes]:
    """The archive's database and manifest, rewritten to claim schema `revision`."""
    path = tmp_path / "rewrite.db"
    path.write_bytes(members["database/kefu.db"])
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    connection.close()
    database = path.read_bytes()
    manifest = json.loads(members["manifest.json"])
    manifest["alembic_revision"] = revision
    manifest["files"] = [
        {"path": "database/kefu.db", "size": len(database), "sha256": hashlib.sha256(database).hexdigest()}
    ]
    return database, json.dumps(manifest).encode()


def test_a_newer_schema_than_the_code_knows_is_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    database, manifest = _with_revision(_members(good_archive), "9999_from_the_future", tmp_path)
    archive = _write(
        tmp_path / "future.tar.gz", [_file("database/kefu.db", database), _file("manifest.json", manifest)]
    )
    target = new_site("target")
    with pytest.raises(BackupError, match="newer than this Kefu knows"):
        restore_backup(target, archive)
    _untouched(target)


def test_a_manifest_that_is_not_ours_is_refused(
    good_archive: Path, new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    members = _members(good_archive)
    target = new_site("target")
    for manifest in (b"not json", b"[]", b'{"format": "kefu-backup", "format_version": 99}', b"{}"):
        archive = _write(
            tmp_path / "foreign.tar.gz",
            [_file("database/kefu.db", members["database/kefu.db"]), _file("manifest.json", manifest)],
        )
        with pytest.raises(BackupError):
            restore_backup(target, archive)
        _untouched(target)
        archive.unlink()
