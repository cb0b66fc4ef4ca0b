"""Unit of work: the caller that opens a transaction commits it, then runs the after-commit hooks.

Actions never commit. They register effects with `after_commit` (events, wake-ups); the web request
dependency or the job runner owns the transaction, so a rolled-back change has no visible effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.db.engine import write_gate

AfterCommit = Callable[[], Awaitable[None]]
_HOOKS_KEY = "kefu.after_commit"

log = structlog.get_logger(__name__)


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the session's current transaction has committed (dropped on rollback)."""
    session.info.setdefault(_HOOKS_KEY, []).append(hook)


async def _run_hooks(hooks: list[AfterCommit]) -> None:
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("after_commit_hook_failed")


async def commit(session: AsyncSession) -> None:
    """Commit, then run the registered hooks; a failing hook is logged, never undoes the commit."""
    await session.commit()
    await _run_hooks(session.info.pop(_HOOKS_KEY, []))


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the hooks of the abandoned transaction."""
    session.info.pop(_HOOKS_KEY, None)
    await session.rollback()


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], *, writes: bool = True
) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success (then hooks run) and rolls back on error.

    `writes` queues the transaction behind other writers of this process on SQLite (see write_gate).
    """
    engine = sessionmaker.kw.get("bind") if writes else None
    async with write_gate(engine), sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await session.commit()
        hooks: list[AfterCommit] = session.info.pop(_HOOKS_KEY, [])
    # Outside the write gate: hooks may write themselves (e.g. a token's last-used time).
    await _run_hooks(hooks)


@asynccontextmanager
async def independent_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A second session on the same database that commits on exit, whatever happens to `session`.

    For records that must outlive the caller's rollback: failed sign-ins, lockouts, denied accesses.
    Precondition: `session` holds no uncommitted writes (on SQLite the second writer would wait).
    """
    bind = session.bind
    if bind is None:
        raise RuntimeError("the session is not bound to an engine")
    async with AsyncSession(bind=bind, expire_on_commit=False, autoflush=False) as own:
        yield own
        await own.commit()
