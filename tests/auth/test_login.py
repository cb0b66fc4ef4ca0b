"""Signing in: generic failures, throttling per account and per IP, lockout expiry, session rotation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.models import AuditEvent
from kefu.audit.service import list_audit_events
from kefu.auth.login import check_login
from kefu.auth.models import Agent, AgentSession, LoginThrottle
from kefu.auth.passwords import use_password_hasher
from kefu.auth.roles import Role
from kefu.auth.sessions import resolve_session
from kefu.core.clock import FrozenClock
from kefu.core.errors import NotAuthenticated, RateLimited
from kefu.settings import Settings
from tests.auth.conftest import PASSWORD, make_agent
from tests.conftest import Database

IP = "203.0.113.7"


async def _login(session: AsyncSession, settings: Settings, email: str, password: str, ip: str = IP) -> str:
    result = await check_login(
        session, email=email, password=password, ip=ip, user_agent="pytest", settings=settings
    )
    await session.commit()
    return result.session_token


async def _fail(
    session: AsyncSession, settings: Settings, email: str, password: str, ip: str = IP
) -> Exception:
    with pytest.raises((NotAuthenticated, RateLimited)) as info:
        await check_login(
            session, email=email, password=password, ip=ip, user_agent="pytest", settings=settings
        )
    # The caller rolls back a failed request; the failure must be counted anyway.
    await session.rollback()
    return info.value


async def _audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.sessionmaker() as fresh:
        return list(await list_audit_events(fresh, action=action))


async def test_login_success_creates_session_and_audits(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings
) -> None:
    result = await check_login(
        session,
        email="  ALICE@Example.com ",
        password=PASSWORD,
        ip=IP,
        user_agent="x" * 1000,
        settings=settings,
    )
    await session.commit()
    assert result.agent.id == agent.id
    assert not result.needs_second_factor
    assert not result.must_enroll_second_factor
    assert result.agent_session.user_agent is not None
    assert len(result.agent_session.user_agent) == 255
    actor = await resolve_session(session, result.session_token, settings=settings)
    assert actor is not None
    assert actor.agent_id == agent.id
    assert actor.session_id == result.agent_session.id
    [event] = await _audit(db, "auth.login_succeeded")
    assert event.actor_id == agent.id
    assert event.ip == IP
    assert PASSWORD not in json.dumps(event.details)
    assert result.session_token not in json.dumps(event.details)


async def test_unknown_and_known_email_fail_identically(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings
) -> None:
    unknown = await _fail(session, settings, "nobody@example.com", PASSWORD)
    wrong = await _fail(session, settings, "alice@example.com", "wrong password 1")
    assert type(unknown) is type(wrong) is NotAuthenticated
    assert str(unknown) == str(wrong) == "Invalid email or password"
    reasons = sorted(e.details["reason"] for e in await _audit(db, "auth.login_failed"))
    assert reasons == ["unknown_email", "wrong_password"]
    for event in await _audit(db, "auth.login_failed"):
        assert event.actor_type == "anonymous"
        assert "wrong password 1" not in json.dumps(event.details)


async def test_inactive_agent_fails_like_a_wrong_password(
    session: AsyncSession, agent: Agent, settings: Settings
) -> None:
    agent.is_active = False
    await session.commit()
    error = await _fail(session, settings, "alice@example.com", PASSWORD)
    assert isinstance(error, NotAuthenticated)
    assert str(error) == "Invalid email or password"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("", ""),
        ("alice@example.com", "x" * 100_000),
        ("a" * 5000 + "@example.com", PASSWORD),
        ("alice@example.com\x00", PASSWORD),
        ("' OR 1=1 --", PASSWORD),
        ("ålice@exämple.com", PASSWORD),
    ],
)
async def test_hostile_input_fails_generically(
    session: AsyncSession, agent: Agent, settings: Settings, email: str, password: str
) -> None:
    error = await _fail(session, settings, email, password)
    assert isinstance(error, NotAuthenticated)
    assert str(error) == "Invalid email or password"


async def test_account_lockout_after_max_failures(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    agent_id, email = agent.id, agent.email
    for n in range(settings.login_max_failures_per_account):
        assert isinstance(
            await _fail(session, settings, email, "wrong password 1", ip=f"198.51.100.{n}"), NotAuthenticated
        )
    locked = await _fail(session, settings, email, PASSWORD, ip="198.51.100.99")
    assert isinstance(locked, RateLimited)
    assert str(locked) == "Too many failed sign-in attempts. Try again in 15 minutes."
    assert locked.retry_after == 15 * 60
    [lock_event] = await _audit(db, "auth.locked_out")
    assert lock_event.target_id == str(agent_id)
    assert lock_event.details["scope"] == "account"
    # A refused attempt during the lock is audited but does not extend the lock.
    assert any(e.details["reason"] == "locked_out" for e in await _audit(db, "auth.login_failed"))

    clock.advance(timedelta(minutes=14, seconds=30))
    almost = await _fail(session, settings, email, PASSWORD)
    assert isinstance(almost, RateLimited)
    assert almost.retry_after == 30
    assert "1 minute." in str(almost)
    clock.advance(timedelta(seconds=30))
    assert await _login(session, settings, email, PASSWORD)


async def test_unknown_accounts_lock_too(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    for n in range(settings.login_max_failures_per_account):
        await _fail(session, settings, "ghost@example.com", "wrong password 1", ip=f"198.51.100.{n}")
    assert isinstance(
        await _fail(session, settings, "GHOST@example.com", "x", ip="198.51.100.50"), RateLimited
    )


async def test_ip_lockout_spans_different_emails(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    email = agent.email
    for n in range(settings.login_max_failures_per_ip):
        await _fail(session, settings, f"user{n}@example.com", "wrong password 1")
    blocked = await _fail(session, settings, email, PASSWORD)
    assert isinstance(blocked, RateLimited)
    scopes = {e.details["scope"] for e in await _audit(db, "auth.locked_out")}
    assert scopes == {"ip"}
    # The same account from another address is unaffected.
    assert await _login(session, settings, email, PASSWORD, ip="192.0.2.1")


async def test_failure_window_resets(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    email = agent.email
    for _ in range(settings.login_max_failures_per_account - 1):
        await _fail(session, settings, email, "wrong password 1")
    clock.advance(timedelta(minutes=settings.login_lockout_minutes))
    await _fail(session, settings, email, "wrong password 1")
    assert await _login(session, settings, email, PASSWORD)


async def test_success_clears_account_counter(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    email = agent.email
    await _fail(session, settings, email, "wrong password 1")
    await _login(session, settings, email, PASSWORD)
    async with db.sessionmaker() as fresh:
        keys = set(await fresh.scalars(select(LoginThrottle.key)))
    assert keys == {f"ip:{IP}"}


async def test_each_login_rotates_the_session_token_stored_hashed(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    first = await _login(session, settings, agent.email, PASSWORD)
    second = await _login(session, settings, agent.email, PASSWORD)
    assert first != second
    async with db.sessionmaker() as fresh:
        rows = (await fresh.execute(text("SELECT * FROM agent_sessions"))).all()
    dump = repr(rows)
    assert len(rows) == 2
    assert first not in dump
    assert second not in dump


async def test_admin_without_2fa_must_enroll_and_gets_no_actor(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    result = await check_login(
        session, email=admin.email, password=PASSWORD, ip=IP, user_agent=None, settings=settings
    )
    await session.commit()
    assert result.must_enroll_second_factor
    assert not result.needs_second_factor
    assert await resolve_session(session, result.session_token, settings=settings) is None


async def test_sessions_expire(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    token = await _login(session, settings, agent.email, PASSWORD)
    clock.advance(timedelta(hours=settings.session_max_age_hours) - timedelta(seconds=1))
    assert await resolve_session(session, token, settings=settings) is not None
    clock.advance(timedelta(seconds=1))
    assert await resolve_session(session, token, settings=settings) is None


async def test_last_seen_updates_at_most_once_a_minute(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    token = await _login(session, settings, agent.email, PASSWORD)
    start = clock.now()
    clock.advance(timedelta(seconds=30))
    await resolve_session(session, token, settings=settings)
    row = (await session.scalars(select(AgentSession))).one()
    assert row.last_seen_at == start
    clock.advance(timedelta(seconds=31))
    await resolve_session(session, token, settings=settings)
    assert row.last_seen_at == clock.now()


@pytest.mark.parametrize("token", ["", "nonsense", "x" * 10_000, "\x00", "kefu_abc"])
async def test_garbage_session_tokens_resolve_to_nothing(
    session: AsyncSession, agent: Agent, settings: Settings, token: str
) -> None:
    assert await resolve_session(session, token, settings=settings) is None


class CountingHasher(PasswordHasher):
    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        CountingHasher.verifications += 1
        return super().verify(hash, password)


async def test_unknown_email_still_spends_a_password_verification(
    session: AsyncSession, agent: Agent, settings: Settings
) -> None:
    previous = use_password_hasher(CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        CountingHasher.verifications = 0
        await _fail(session, settings, "nobody@example.com", "some password 1")
        assert CountingHasher.verifications == 1
        await _fail(session, settings, "alice@example.com", "some password 1")
        assert CountingHasher.verifications == 2
    finally:
        use_password_hasher(previous)
