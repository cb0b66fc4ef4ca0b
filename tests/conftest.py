"""Shared fixtures: one schema per backend per xdist worker, emptied between tests.

Every storage test takes the `db` fixture and so runs on SQLite and on PostgreSQL. PostgreSQL tests
skip when the server is unreachable, unless KEFU_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kefu.db.cache import clear_config_caches
from kefu.db.driver import close_driver_connections
from kefu.db.engine import create_engine, create_sessionmaker
from kefu.registry import load_models
from kefu.runtime import Runtime
from kefu.search.index import ensure_search_schema
from kefu.settings import Settings

POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("KEFU_REQUIRE_SERVICES") == "1"


def service_unavailable(name: str, reason: str) -> None:
    """Skip (laptop) or fail (CI) a test whose real peer is missing."""
    message = f"{name} unavailable: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (KEFU_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@dataclass
class Database:
    """A migrated, empty database for one backend; `sessionmaker` is what the app would use."""

    backend: str
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]


async def _create_pg_database() -> str:
    admin = create_engine(POSTGRES_URL)
    name = f"kefu_test_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text(f'CREATE DATABASE "{name}"')
            )
    finally:
        await admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _pg_reachable() -> str | None:
    engine = create_engine(POSTGRES_URL)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the peer is unavailable
        return repr(exc)
    finally:
        await engine.dispose()
    return None


_databases: dict[str, Database] = {}


async def _open_database(backend: str, tmp_root: Path) -> Database:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_root / 'kefu-test.db'}"
    else:
        url = await _create_pg_database()
    engine = create_engine(url, pool_size=5)
    metadata = load_models()
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        # What migrations add beyond the models: the full-text objects of search.
        await conn.run_sync(ensure_search_schema)
    return Database(backend, url, engine, create_sessionmaker(engine))


async def truncate_all(database: Database) -> None:
    """Empty every table (cheaper than re-creating the schema for each test)."""
    tables = list(reversed(load_models().sorted_tables))
    async with database.engine.begin() as conn:
        if database.backend == "postgres":
            names = ", ".join(f'"{t.name}"' for t in tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(table.delete())
            await conn.execute(text("DELETE FROM search_fts"))


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kefu")


@pytest.fixture(scope="session")
async def _database_pool(tmp_root: Path) -> AsyncIterator[dict[str, Database]]:
    yield _databases
    for database in _databases.values():
        await close_driver_connections(database.engine)
        await database.engine.dispose()
        if database.backend == "postgres":
            await _drop_pg_database(database.url)
    _databases.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(
    request: pytest.FixtureRequest, _database_pool: dict[str, Database], tmp_root: Path
) -> AsyncIterator[Database]:
    """An empty, fully migrated database: each test using it runs once per backend."""
    backend: str = request.param
    if backend not in _database_pool:
        if backend == "postgres":
            problem = await _pg_reachable()
            if problem:
                service_unavailable("PostgreSQL", problem)
        _database_pool[backend] = await _open_database(backend, tmp_root)
    database = _database_pool[backend]
    clear_config_caches()  # cached configuration belongs to the previous test's rows
    yield database
    await truncate_all(database)


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session on `db`; the test commits (or not) itself."""
    async with db.sessionmaker() as s:
        yield s


@pytest.fixture
def redis_url() -> str:
    """The Redis URL for tests that need a real Redis (skips or fails when unreachable)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the peer is unavailable
        service_unavailable("Redis", repr(exc))
    finally:
        client.close()
    return REDIS_URL


# --- the HTTP API against a real database -------------------------------------------------------

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """argon2id with test-sized cost; production keeps argon2-cffi's strong defaults."""
    from argon2 import PasswordHasher

    from kefu.auth.passwords import use_password_hasher

    previous = use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    use_password_hasher(previous)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """Settings pointing at the test database and a private data directory."""
    return Settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=db.url,
        secret_key=SecretStr(TEST_SECRET),
        base_url="http://kefu.test",
        run_worker_in_serve=False,
    )


@pytest.fixture
async def runtime(db: Database, settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime sharing the test database engine (not disposed per test)."""
    from kefu.events.bus import EventBus, install_bus
    from kefu.integrations.exchange.demo import DemoExchange
    from kefu.pubsub.memory import MemoryPubSub
    from kefu.storage.local import LocalBlobStore

    pubsub = MemoryPubSub()
    bus = EventBus(pubsub)
    previous = install_bus(bus)
    rt = Runtime(
        settings=settings,
        engine=db.engine,
        sessionmaker=db.sessionmaker,
        blobs=LocalBlobStore(settings.blob_dir),
        pubsub=pubsub,
        bus=bus,
        exchange=DemoExchange(),
    )
    yield rt
    await pubsub.close()
    install_bus(previous)


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the ASGI app in-process (same code path as uvicorn)."""
    from kefu.web.app import create_app

    app = create_app(runtime=runtime, start_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c
