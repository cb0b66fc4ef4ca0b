"""The per-process API-token cache: one lookup per token per TOKEN_CACHE_SECONDS, never a stale grant.

A revocation, deactivation, role or team change made in this process applies to the very next
request; one made by another process (simulated by a write on a raw connection, which this
process's sessions never see) applies within TOKEN_CACHE_SECONDS. Expiry is checked on every use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth import tokens
from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent, ApiToken
from kefu.auth.roles import Role, Scope
from kefu.auth.tokens import (
    LIVE_TOKENS,
    TOKEN_CACHE_SECONDS,
    do_issue_api_token_as_operator,
    do_revoke_api_token,
    resolve_api_token,
)
from kefu.core.clock import FrozenClock
from kefu.db.uow import commit
from kefu.inboxes.models import Team, TeamMember
from tests.auth.conftest import make_agent
from tests.conftest import Database


class MonotonicClock:
    """The cache's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache_clock() -> Iterator[MonotonicClock]:
    clock = MonotonicClock()
    previous = LIVE_TOKENS.use_clock(clock)
    yield clock
    LIVE_TOKENS.use_clock(previous)


@pytest.fixture
def lookups(db: Database) -> Iterator[list[str]]:
    """Every statement this process sends that reads the api_tokens table."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _issue(session: AsyncSession, agent: Agent, scopes: set[Scope] | None = None) -> str:
    _row, plaintext = await do_issue_api_token_as_operator(
        session,
        agent_email=agent.email,
        name="cache test",
        scopes=scopes or {Scope.CONVERSATIONS_READ},
        expires_in_days=None,
    )
    await commit(session)
    return plaintext


async def _resolve(db: Database, plaintext: str) -> AgentActor | None:
    """Resolve in a fresh session and commit it, as one request would."""
    async with db.sessionmaker() as session:
        actor = await resolve_api_token(session, plaintext)
        await commit(session)
        return actor


async def _elsewhere(db: Database, statement: str, **params: object) -> None:
    """A write by another process: a raw connection, invisible to this process's session events."""
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_a_live_token_is_read_once_per_ttl(
    db: Database,
    session: AsyncSession,
    agent: Agent,
    clock: FrozenClock,
    cache_clock: MonotonicClock,
    lookups: list[str],
) -> None:
    plaintext = await _issue(session, agent)
    for _ in range(3):
        actor = await _resolve(db, plaintext)
        assert actor is not None
        assert actor.agent_id == agent.id
        assert actor.scopes == frozenset({Scope.CONVERSATIONS_READ})
    assert len(lookups) == 1
    cache_clock.now += TOKEN_CACHE_SECONDS
    assert await _resolve(db, plaintext) is not None
    assert len(lookups) == 2


async def test_revocation_applies_at_once_in_this_process(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)
    assert await _resolve(db, plaintext) is not None
    row = await session.scalar(select(ApiToken).where(ApiToken.agent_id == agent.id))
    assert row is not None
    async with db.sessionmaker() as revoking:
        await do_revoke_api_token(revoking, token_id=row.id, actor=AgentActor(agent.id, agent.role))
        await commit(revoking)
    assert await _resolve(db, plaintext) is None


async def test_revocation_by_another_process_applies_within_the_bound(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)
    assert await _resolve(db, plaintext) is not None
    await _elsewhere(db, "UPDATE api_tokens SET revoked_at = created_at")
    # Still the cached grant just before the bound (this is the documented staleness) ...
    cache_clock.now += TOKEN_CACHE_SECONDS - 0.01
    assert await _resolve(db, plaintext) is not None
    # ... and never after it.
    cache_clock.now += 0.01
    assert await _resolve(db, plaintext) is None


async def test_deactivation_by_another_process_applies_within_the_bound(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)
    assert await _resolve(db, plaintext) is not None
    await _elsewhere(db, "UPDATE agents SET is_active = false")
    cache_clock.now += TOKEN_CACHE_SECONDS
    assert await _resolve(db, plaintext) is None


async def test_deactivation_here_applies_at_once(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)
    assert await _resolve(db, plaintext) is not None
    agent.is_active = False
    await commit(session)
    assert await _resolve(db, plaintext) is None


async def test_statements_through_a_session_also_invalidate(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)
    assert await _resolve(db, plaintext) is not None
    await session.execute(update(ApiToken).values(revoked_at=clock.now()))
    await commit(session)
    assert await _resolve(db, plaintext) is None


async def test_role_and_team_changes_apply_at_once(
    db: Database, session: AsyncSession, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin.totp_secret_encrypted, admin.totp_enabled_at = "v1.placeholder", clock.now()
    await commit(session)
    plaintext = await _issue(session, admin, {Scope.ADMIN, Scope.CONVERSATIONS_READ})
    before = await _resolve(db, plaintext)
    assert before is not None
    assert before.has_scope(Scope.ADMIN)
    assert before.team_ids == frozenset()

    team = Team(name="Security", slug="security")
    session.add(team)
    await session.flush()
    session.add(TeamMember(team_id=team.id, agent_id=admin.id))
    await commit(session)
    joined = await _resolve(db, plaintext)
    assert joined is not None
    assert joined.team_ids == frozenset({team.id})

    admin.role = Role.AGENT
    await commit(session)
    demoted = await _resolve(db, plaintext)
    assert demoted is not None
    assert not demoted.has_scope(Scope.ADMIN)
    assert demoted.scopes == frozenset({Scope.CONVERSATIONS_READ})


async def test_expiry_is_checked_on_every_use(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    _row, plaintext = await do_issue_api_token_as_operator(
        session,
        agent_email=agent.email,
        name="short",
        scopes={Scope.CONVERSATIONS_READ},
        expires_in_days=1,
    )
    await commit(session)
    assert await _resolve(db, plaintext) is not None
    clock.advance(timedelta(days=1))  # the cache's own clock has not moved
    assert await _resolve(db, plaintext) is None


async def test_unknown_and_dead_tokens_are_never_cached(
    db: Database,
    session: AsyncSession,
    agent: Agent,
    clock: FrozenClock,
    cache_clock: MonotonicClock,
    lookups: list[str],
) -> None:
    plaintext = await _issue(session, agent)
    await _elsewhere(db, "UPDATE api_tokens SET revoked_at = created_at")
    unknown = "kefu_" + "x" * 43
    for token in (plaintext, plaintext, unknown, unknown):
        assert await _resolve(db, token) is None
    assert len(lookups) == 4


async def test_a_read_racing_a_revocation_is_used_once_but_not_kept(
    db: Database,
    session: AsyncSession,
    agent: Agent,
    clock: FrozenClock,
    cache_clock: MonotonicClock,
    monkeypatch: pytest.MonkeyPatch,
    lookups: list[str],
) -> None:
    plaintext = await _issue(session, agent)
    load = tokens._load_live_token

    async def load_then_revoked_meanwhile(s: AsyncSession, token_hash: str) -> object:
        found = await load(s, token_hash)
        # Another request of this process revokes the token while this read is in flight.
        await _elsewhere(db, "UPDATE api_tokens SET revoked_at = created_at")
        LIVE_TOKENS.invalidate()
        return found

    monkeypatch.setattr(tokens, "_load_live_token", load_then_revoked_meanwhile)
    assert await _resolve(db, plaintext) is not None  # read before the revocation committed
    monkeypatch.setattr(tokens, "_load_live_token", load)
    assert await _resolve(db, plaintext) is None
    assert len(lookups) == 2


async def test_last_used_is_written_at_most_once_a_minute(
    db: Database, session: AsyncSession, agent: Agent, clock: FrozenClock, cache_clock: MonotonicClock
) -> None:
    plaintext = await _issue(session, agent)

    async def last_used() -> object:
        async with db.sessionmaker() as fresh:
            return await fresh.scalar(select(ApiToken.last_used_at))

    assert await _resolve(db, plaintext) is not None
    first = clock.now()
    assert await last_used() == first
    clock.advance(timedelta(seconds=30))
    assert await _resolve(db, plaintext) is not None
    assert await last_used() == first
    clock.advance(timedelta(seconds=30))
    assert await _resolve(db, plaintext) is not None
    assert await last_used() == clock.now()
