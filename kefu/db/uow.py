"""Unit of work: the caller that opens a transaction commits it, then runs the after-commit hooks.

Actions never commit. They register effects with `after_commit` (events, wake-ups); the web request
dependency or the job runner owns the transaction, so a rolled-back change has no visible effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

AfterCommit = Callable[[], Awaitable[None]]
_HOOKS_KEY = "kefu.after_commit"

log = structlog.get_logger(__name__)


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the session's current transaction has committed (dropped on rollback)."""
    session.info.setdefault(_HOOKS_KEY, []).append(hook)


async def commit(session: AsyncSession) -> None:
    """Commit, then run the registered hooks; a failing hook is logged, never undoes the commit."""
    await session.commit()
    hooks: list[AfterCommit] = session.info.pop(_HOOKS_KEY, [])
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("after_commit_hook_failed")


async def rollback(session: AsyncSession) -> None:
    """Roll back and forget the hooks of the abandoned transaction."""
    session.info.pop(_HOOKS_KEY, None)
    await session.rollback()


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success (then hooks run) and rolls back on error."""
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await rollback(session)
            raise
        await commit(session)
