"""On PostgreSQL, `kefu backup` is pg_dump in a snapshot plus the blobs; restore is pg_restore."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kefu.backup.archive import BackupError
from kefu.backup.service import create_backup, restore_backup
from kefu.db import migrate
from kefu.db.engine import create_engine
from kefu.settings import Settings
from tests.backup.conftest import png, serving, site_settings
from tests.conftest import (
    POSTGRES_URL,
    _create_pg_database,
    _drop_pg_database,
    _pg_reachable,
    service_unavailable,
)
from tests.factories import make_agent, make_customer, open_conversation

pytestmark = pytest.mark.postgres


@pytest.fixture
async def databases() -> AsyncIterator[tuple[str, str]]:
    """Two migrated, empty PostgreSQL databases (origin, target)."""
    if problem := await _pg_reachable():
        service_unavailable("PostgreSQL", problem)
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        service_unavailable("pg_dump/pg_restore", "not installed (postgresql-client)")
    origin = await _create_pg_database()
    target = ""
    try:
        await migrate.upgrade_async(origin)
        target = (
            make_url(origin)
            .set(database=f"{make_url(origin).database}_copy")
            .render_as_string(hide_password=False)
        )
        admin = create_engine(POSTGRES_URL)
        try:
            async with admin.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                source, copy = make_url(origin).database, make_url(target).database
                await conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"'))
        finally:
            await admin.dispose()
        yield origin, target
    finally:
        await _drop_pg_database(origin)
        if target:
            await _drop_pg_database(target)


def _partials(directory: Path) -> list[Path]:
    return list(directory.glob(".never*"))


def _site(url: str, data_dir: Path) -> Settings:
    return site_settings(data_dir).model_copy(update={"database_url": url})


async def test_backup_and_restore_on_postgresql(databases: tuple[str, str], tmp_path: Path) -> None:
    origin_url, target_url = databases
    origin = _site(origin_url, tmp_path / "origin")
    async with serving(origin) as (runtime, client):
        agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
        customer = await make_customer(runtime.sessionmaker, origin, "alice@example.com")
        conversation = await open_conversation(client, customer, subject="lost deposit")
        posted = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            data={"payload": '{"body": "receipt"}'},
            files={"files": ("receipt.png", png(3), "image/png")},
            headers=customer.headers,
        )
        assert posted.status_code == 201, posted.text
        url = posted.json()["attachments"][0]["url"]
        original = (await client.get(url, headers=agent.headers)).content

    report = await asyncio.to_thread(create_backup, origin, tmp_path / "pg.tar.gz")
    assert report.manifest.database == "postgresql"
    assert report.manifest.missing_blobs == []
    assert [f.path.split("/")[0] for f in report.manifest.files] == ["database", "blobs"]

    target = _site(target_url, tmp_path / "target")
    restored = await asyncio.to_thread(restore_backup, target, report.path)
    assert restored.blobs == 1
    assert restored.needs_migration is False
    async with serving(target) as (_runtime, client):
        shown = await client.get(f"/api/v1/conversations/{conversation['id']}", headers=agent.headers)
        assert shown.status_code == 200
        assert shown.json()["subject"] == "lost deposit"
        served = await client.get(url, headers=agent.headers)
        assert served.content == original

    with pytest.raises(BackupError, match="already holds data"):
        await asyncio.to_thread(restore_backup, target, report.path)
    # A SQLite deployment refuses a PostgreSQL archive.
    sqlite_site = site_settings(tmp_path / "sqlite")
    with pytest.raises(BackupError, match="postgresql backup"):
        await asyncio.to_thread(restore_backup, sqlite_site, report.path)


async def test_an_unreachable_server_fails_cleanly(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    site = _site("postgresql+asyncpg://kefu:secret@127.0.0.1:1/kefu", tmp_path)
    with pytest.raises(BackupError, match="PostgreSQL failed"):
        await asyncio.to_thread(create_backup, site, tmp_path / "never.tar.gz")
    assert not (tmp_path / "never.tar.gz").exists()
    assert not _partials(tmp_path)
