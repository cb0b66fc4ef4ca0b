"""Engine and session factories. Built by the app or CLI at start-up, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# PostgreSQL connections per process: opened as needed, then kept. No overflow: overflow connections
# are closed when returned, so under a load beyond the pool they are opened and closed all the time,
# a PostgreSQL backend process each with every prepared statement prepared again (bench/api_write.py
# at c=16 with 10 pooled; bench/chat_load.py --max with 20 pooled and 10 overflow, where the churn
# cost the database more CPU than the statements). Past 30, requests wait for a connection.
POOL_SIZE = 30
MAX_OVERFLOW = 0


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW
) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per request. A connection that died (database restart) is
    # invalidated by SQLAlchemy on the first error, and recycling bounds the age of idle ones.
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (we serialise after committing)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    """True for the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"


_write_gates: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def write_gate(engine: AsyncEngine | None) -> AsyncIterator[None]:
    """Serialise this process's write transactions on SQLite; a no-op on PostgreSQL.

    SQLite has one writer at a time. Concurrent writers otherwise meet SQLITE_BUSY and sleep in the
    busy handler's coarse steps (up to 100 ms each), which collapses throughput; queueing them on an
    asyncio lock instead costs nothing and keeps latency flat. Readers are never gated (WAL).
    """
    if engine is None or not is_sqlite(engine):
        yield
        return
    gate = _write_gates.get(engine)
    if gate is None:
        gate = _write_gates[engine] = asyncio.Lock()
    async with gate:
        yield
