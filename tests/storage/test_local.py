"""Local-directory specifics: layout, atomic writes, permissions, placement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import kefu
from kefu.storage.base import blob_key
from kefu.storage.local import LocalBlobStore


async def test_layout_is_two_level_fan_out(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = await store.put(b"layout")
    path = tmp_path / "blobs" / key[:2] / key[2:4] / key
    assert path.read_bytes() == b"layout"
    assert store.root == (tmp_path / "blobs").resolve()


async def test_blob_files_are_private_and_no_temp_files_remain(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = await store.put(b"private")
    path = tmp_path / key[:2] / key[2:4] / key
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == [key]


async def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    store = LocalBlobStore(tmp_path)
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        await store.put(b"never lands")
    monkeypatch.undo()
    key = blob_key(b"never lands")
    assert not await store.exists(key)
    assert list((tmp_path / key[:2] / key[2:4]).iterdir()) == []


async def test_existing_blob_is_not_rewritten(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = await store.put(b"once")
    path = tmp_path / key[:2] / key[2:4] / key
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    await store.put(b"once")
    assert path.stat().st_mtime_ns == before - 10**9


def test_root_inside_the_package_is_refused() -> None:
    package = Path(kefu.__file__).parent
    with pytest.raises(ValueError, match="inside the kefu package"):
        LocalBlobStore(package / "web" / "static" / "uploads")
    with pytest.raises(ValueError, match="inside the kefu package"):
        LocalBlobStore(package / ".." / "kefu")
