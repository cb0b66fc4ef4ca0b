"""A Core statement run by the asyncpg driver itself, for the hottest one-statement writes.

On a path that is a single autocommitted statement (a customer's next chat message,
`kefu.chat.quick_post`), SQLAlchemy's per-call execution work costs more CPU than the statement's
own protocol work: the isolation level set and reset, the compiled-cache lookup, building the
parameters, the execution context, the greenlet hop and the result rows (about a fifth of a busy
chat node's CPU). The statement is still written with Core and compiled once by the engine's
dialect; only the per-call layer is skipped. Its connections are leased from the engine's pool
(`LANE_CONNECTIONS` of its `POOL_SIZE`) and kept until `close_driver_connections`, which the runtime
calls before disposing of the engine.

A pooled connection is outside any transaction when it is checked out (SQLAlchemy begins one only
when it executes something), so the statement commits on its own. Listeners of the engine's
`before_cursor_execute` event (statement counts in tests, tracing) are told about it as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn


@dataclass(frozen=True)
class DriverStatement:
    """SQL in the driver's `$n` style and how to turn named parameters into positional arguments."""

    sql: str
    names: tuple[str, ...]
    # Values bound inside the statement itself (literals, constants in the WHERE clause).
    fixed: Mapping[str, Any]
    # What the column types do to a value before the driver sees it (JSON to text, UTC checks).
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments for `params`; a missing required name is a KeyError."""
        values = []
        for name in self.names:
            value = params[name] if name in params else self.fixed[name]
            processor = self.processors.get(name)
            values.append(value if processor is None or value is None else processor(value))
        return values


@lru_cache(maxsize=32)
def compile_for_driver(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """`statement` compiled by `dialect` (asyncpg's), once per statement and dialect."""
    if dialect.driver != "asyncpg":
        raise ValueError(f"statements run on the driver need asyncpg, not {dialect.driver}")
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        # Python-side column defaults (`onupdate=utcnow`) are computed by SQLAlchemy's execution
        # context, which this skips: the statement must set those columns itself.
        defaulted = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        raise ValueError(f"the statement leaves Python-side defaults to SQLAlchemy: {defaulted}")
    names = tuple(compiled.positiontup or ())
    fixed: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding or bind.callable is not None:
            raise ValueError(f"parameter {name!r} is not a plain value")
        if not bind.required:
            fixed[name] = bind.value
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    return DriverStatement(str(compiled), names, fixed, processors)


# Connections of each engine's pool (kefu.db.engine.POOL_SIZE) that driver statements keep checked out:
# a checkout from SQLAlchemy's pool (a queue wait with a timeout, a greenlet hop each way) cost a
# tenth of a busy chat node's CPU. The rest of the pool stays for everything else.
LANE_CONNECTIONS: Final = 10
# As SQLAlchemy's pool: a statement that waits this long for a connection fails.
LANE_TIMEOUT_SECONDS: Final = 30.0


class _Lane:
    """Up to `size` pooled connections leased for driver statements, handed out one caller at a time."""

    # Not holding the engine: the lanes are kept by engine in a weak mapping.
    def __init__(self, size: int) -> None:
        self._size = size
        self._leased = 0
        self._idle: asyncio.Queue[PoolProxiedConnection] = asyncio.Queue()
        self._closed = False

    async def acquire(self, engine: AsyncEngine) -> PoolProxiedConnection:
        if self._closed:
            raise RuntimeError("the engine's driver connections are closed")
        if self._idle.empty() and self._leased < self._size:
            self._leased += 1
            try:
                return await engine.raw_connection()
            except BaseException:
                self._leased -= 1
                raise
        async with asyncio.timeout(LANE_TIMEOUT_SECONDS):
            return await self._idle.get()

    async def release(self, engine: AsyncEngine, pooled: PoolProxiedConnection, *, broken: bool) -> None:
        if not broken and not self._closed:
            self._idle.put_nowait(pooled)
            return
        self._leased -= 1
        if broken:
            await greenlet_spawn(pooled.invalidate)
        await greenlet_spawn(pooled.close)  # back to the pool (nothing to roll back: no transaction)
        if broken and not self._closed and self._idle.empty():
            # Callers may be waiting for a connection that will not come back: lease them another.
            with contextlib.suppress(Exception):
                replacement = await self.acquire(engine)
                self._idle.put_nowait(replacement)

    async def close(self) -> None:
        self._closed = True
        while not self._idle.empty():
            self._leased -= 1
            await greenlet_spawn(self._idle.get_nowait().close)


_lanes: weakref.WeakKeyDictionary[AsyncEngine, _Lane] = weakref.WeakKeyDictionary()


async def close_driver_connections(engine: AsyncEngine) -> None:
    """Give the connections leased for driver statements back to `engine`'s pool (before `dispose`).

    Ones in use go back when their statement ends. The engine can run driver statements again later.
    """
    lane = _lanes.pop(engine, None)
    if lane is not None:
        await lane.close()


async def fetch_row(
    engine: AsyncEngine, statement: ClauseElement, params: Mapping[str, Any]
) -> asyncpg.Record | None:
    """Run `statement` as one autocommitted statement on a leased connection; its first row.

    Rows come as the driver returns them (UUIDs as asyncpg's UUID type, a `uuid.UUID` subclass).
    """
    prepared = compile_for_driver(statement, engine.dialect)
    arguments = prepared.arguments(params)
    sync_engine = engine.sync_engine
    if sync_engine.dispatch.before_cursor_execute:
        # No Connection object is made: listeners get None for it and for the cursor, and the
        # statement and its positional parameters as usual.
        sync_engine.dispatch.before_cursor_execute(None, None, prepared.sql, tuple(arguments), None, False)
    lane = _lanes.get(engine)
    if lane is None:
        lane = _lanes[engine] = _Lane(LANE_CONNECTIONS)
    pooled = await lane.acquire(engine)
    driver: asyncpg.Connection = pooled.driver_connection
    try:
        row = await driver.fetchrow(prepared.sql, *arguments)
    except BaseException as exc:
        # A dead connection, or one left mid-statement by a cancelled caller, is not reused: the pool
        # replaces it (SQLAlchemy's own execution does the same).
        broken = driver.is_closed() or not isinstance(exc, asyncpg.PostgresError)
        await lane.release(engine, pooled, broken=broken)
        raise
    await lane.release(engine, pooled, broken=False)
    return row
