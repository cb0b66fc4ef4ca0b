"""A backup taken while Kefu writes restores into a fresh data directory that serves the same data."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kefu.backup.archive import BackupError
from kefu.backup.blobs import blob_columns
from kefu.backup.service import create_backup, database_has_data, restore_backup
from kefu.settings import Settings
from tests.backup.conftest import png, serving
from tests.factories import Customer, make_agent, make_customer, open_conversation


async def _with_attachment(
    client: httpx.AsyncClient, customer: Customer, text: str, seed: int
) -> tuple[str, str]:
    """A conversation with a screenshot: (conversation id, attachment URL)."""
    conversation = await open_conversation(client, customer, subject=text, body=text)
    response = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        data={"payload": '{"body": "screenshot attached"}'},
        files={"files": (f"{text}.png", png(seed), "image/png")},
        headers=customer.headers,
    )
    assert response.status_code == 201, response.text
    return str(conversation["id"]), str(response.json()["attachments"][0]["url"])


def _count(database: Path, table: str) -> int:
    connection = sqlite3.connect(database)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        connection.close()


async def test_backup_during_writes_restores_the_same_conversations_and_bytes(
    new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    live = new_site("live")
    archive = tmp_path / "backup.tar.gz"
    async with serving(live) as (runtime, client):
        agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
        customer = await make_customer(runtime.sessionmaker, live, "alice@example.com")
        before = [await _with_attachment(client, customer, f"before-{n}", n) for n in range(3)]
        originals = {url: (await client.get(url, headers=agent.headers)).content for _id, url in before}
        assert all(data.startswith(b"\x89PNG") for data in originals.values())

        stop = asyncio.Event()
        written: list[str] = []

        async def keep_writing() -> None:
            while not stop.is_set():
                n = len(written)
                conversation_id, _url = await _with_attachment(client, customer, f"during-{n}", 100 + n)
                written.append(conversation_id)

        writer = asyncio.create_task(keep_writing())
        await asyncio.sleep(0.2)
        report = await asyncio.to_thread(create_backup, live, archive)
        await asyncio.sleep(0.1)
        stop.set()
        await writer
        assert len(written) >= 2, "the writer must overlap the backup"
        assert report.manifest.missing_blobs == []
        assert report.manifest.alembic_revision is not None

    restored = new_site("restored")
    assert not database_has_data(restored.data_dir / "kefu.db")
    result = restore_backup(restored, archive)
    assert result.needs_migration is False
    database = restored.data_dir / "kefu.db"
    check = sqlite3.connect(database)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        check.close()
    # A consistent snapshot: some of the concurrent conversations, and every file it refers to.
    conversations = _count(database, "conversations")
    assert 3 <= conversations <= 3 + len(written)
    attachments = _count(database, "attachments")
    assert 3 <= attachments <= conversations
    assert result.blobs == attachments
    assert len([p for p in restored.blob_dir.rglob("*") if p.is_file()]) == attachments
    assert not list(restored.data_dir.glob(".kefu-restore-*"))

    async with serving(restored) as (_runtime, client):
        for conversation_id, url in before:
            shown = await client.get(f"/api/v1/conversations/{conversation_id}", headers=agent.headers)
            assert shown.status_code == 200
            assert shown.json()["subject"].startswith("before-")
            served = await client.get(url, headers=agent.headers)
            assert served.status_code == 200
            assert served.content == originals[url]


async def test_restore_refuses_a_database_with_data_unless_forced(
    new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    site = new_site("site")
    async with serving(site) as (runtime, _client):
        await make_customer(runtime.sessionmaker, site, "bob@example.com")
    archive = create_backup(site, tmp_path / "site.tar.gz").path
    with pytest.raises(BackupError, match="already holds data"):
        restore_backup(site, archive)
    assert restore_backup(site, archive, force=True).blobs == 0
    assert database_has_data(site.data_dir / "kefu.db")


async def test_missing_blobs_are_reported_and_the_rest_restored(
    new_site: Callable[[str], Settings], tmp_path: Path
) -> None:
    site = new_site("site")
    async with serving(site) as (runtime, client):
        customer = await make_customer(runtime.sessionmaker, site, "carol@example.com")
        for n in range(2):
            await _with_attachment(client, customer, f"file-{n}", n)
    blobs = sorted(p for p in site.blob_dir.rglob("*") if p.is_file())
    assert len(blobs) == 2
    blobs[0].unlink()
    report = create_backup(site, tmp_path / "partial.tar.gz")
    assert report.manifest.missing_blobs == [blobs[0].name]
    assert [f.path.rsplit("/", 1)[1] for f in report.manifest.files[1:]] == [blobs[1].name]
    target = new_site("target")
    assert restore_backup(target, report.path).blobs == 1
    assert (target.blob_dir / blobs[1].relative_to(site.blob_dir)).read_bytes() == blobs[1].read_bytes()


def test_backup_never_overwrites_an_archive(new_site: Callable[[str], Settings], tmp_path: Path) -> None:
    site = new_site("site")
    existing = tmp_path / "keep.tar.gz"
    existing.write_bytes(b"precious")
    with pytest.raises(BackupError, match="already exists"):
        create_backup(site, existing)
    assert existing.read_bytes() == b"precious"


def test_every_blob_key_column_is_backed_up() -> None:
    """New tables that keep blob keys must name the column so the backup finds it."""
    columns = blob_columns()
    assert ("attachments", "blob_key") in columns
    assert ("inbound_emails", "raw_key") in columns
