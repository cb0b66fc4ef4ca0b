"""Backup tests run on real SQLite files migrated by Alembic (as `kefu migrate` leaves them)."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from kefu.db import migrate
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.events.bus import EventBus, install_bus
from kefu.integrations.exchange.demo import DemoExchange
from kefu.pubsub.memory import MemoryPubSub
from kefu.runtime import Runtime
from kefu.settings import Settings
from kefu.storage.local import LocalBlobStore
from kefu.web.app import create_app
from tests.conftest import TEST_SECRET


def png(seed: int) -> bytes:
    """A small PNG whose pixels differ by `seed` (so re-encoded uploads are distinct blobs)."""
    image = Image.new("RGB", (4, 4), (seed % 256, (seed * 7) % 256, (seed * 13) % 256))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def site_settings(data_dir: Path) -> Settings:
    """Settings of a deployment whose SQLite database and blobs live in `data_dir`."""
    return Settings(
        env="test",
        data_dir=data_dir,
        secret_key=SecretStr(TEST_SECRET),
        base_url="http://kefu.test",
        run_worker_in_serve=False,
        smtp_listen="",
    )


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database file at the newest revision, copied by every test that needs a fresh site."""
    data_dir = tmp_path_factory.mktemp("backup-template")
    await migrate.upgrade_async(site_settings(data_dir).database_url)
    return data_dir / "kefu.db"


@pytest.fixture
def new_site(migrated_template: Path, tmp_path: Path) -> Callable[[str], Settings]:
    """A fresh, migrated, empty deployment under tmp_path/<name>."""

    def make(name: str) -> Settings:
        settings = site_settings(tmp_path / name)
        settings.data_dir.mkdir(parents=True)
        shutil.copyfile(migrated_template, settings.data_dir / "kefu.db")
        return settings

    return make


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The app of the deployment `settings` describes, and an HTTP client to it."""
    engine = create_engine(settings.database_url)
    pubsub = MemoryPubSub()
    bus = EventBus(pubsub)
    previous = install_bus(bus)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        blobs=LocalBlobStore(settings.blob_dir),
        pubsub=pubsub,
        bus=bus,
        exchange=DemoExchange(),
    )
    app = create_app(runtime=runtime, start_worker=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kefu.test"
        ) as client:
            yield runtime, client
    finally:
        await pubsub.close()
        install_bus(previous)
        await engine.dispose()
