"""Logout, revoking other sessions, password change: sessions end and websockets are told after commit."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actions import do_change_password
from kefu.auth.login import check_login
from kefu.auth.models import Agent, AgentSession
from kefu.auth.passwords import verify_password
from kefu.auth.sessions import do_logout, do_revoke_other_sessions, resolve_session
from kefu.core.clock import FrozenClock
from kefu.core.errors import InvalidInput, NotAuthenticated
from kefu.db.uow import commit, rollback
from kefu.events.names import EventName
from kefu.events.types import agent_topic
from kefu.settings import Settings
from tests.auth.conftest import PASSWORD, RecordingBus

NEW_PASSWORD = "a brand new secret 7"


async def _login(
    session: AsyncSession, settings: Settings, email: str = "alice@example.com"
) -> tuple[str, str]:
    result = await check_login(
        session, email=email, password=PASSWORD, ip="192.0.2.1", user_agent="ua", settings=settings
    )
    await commit(session)
    return result.session_token, result.agent_session.id


async def test_logout_revokes_and_announces_after_commit(
    session: AsyncSession, agent: Agent, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    token, session_id = await _login(session, settings)
    assert await do_logout(session, token)
    assert bus.published == []
    await commit(session)
    assert await resolve_session(session, token, settings=settings) is None
    [event] = bus.published
    assert event.name == EventName.AGENT_SESSIONS_REVOKED
    assert event.topics == (agent_topic(agent.id),)
    assert event.payload["session_ids"] == [session_id]
    assert token not in event.to_json().decode()
    assert not await do_logout(session, token)
    assert not await do_logout(session, "")


async def test_revoke_other_sessions_keeps_the_given_one(
    session: AsyncSession, agent: Agent, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    tokens = [await _login(session, settings) for _ in range(3)]
    keep_token, keep_id = tokens[0]
    revoked = await do_revoke_other_sessions(session, agent_id=agent.id, keep_session_id=keep_id)
    await commit(session)
    assert sorted(revoked) == sorted(t[1] for t in tokens[1:])
    assert await resolve_session(session, keep_token, settings=settings) is not None
    for token, _ in tokens[1:]:
        assert await resolve_session(session, token, settings=settings) is None
    assert sorted(bus.published[0].payload["session_ids"]) == sorted(revoked)


async def test_change_password_revokes_others_keeps_current_and_publishes_after_commit(
    session: AsyncSession, agent: Agent, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    current_token, current_id = await _login(session, settings)
    other_token, other_id = await _login(session, settings)
    await do_change_password(
        session,
        agent_id=agent.id,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        keep_session_id=current_id,
        settings=settings,
    )
    assert bus.published == []
    await commit(session)
    [event] = bus.published
    assert event.payload["session_ids"] == [other_id]
    assert await resolve_session(session, current_token, settings=settings) is not None
    assert await resolve_session(session, other_token, settings=settings) is None
    assert verify_password(agent.password_hash, NEW_PASSWORD)
    with pytest.raises(NotAuthenticated):
        await check_login(
            session, email=agent.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
        )


async def test_rolled_back_password_change_publishes_nothing(
    session: AsyncSession, agent: Agent, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    _, current_id = await _login(session, settings)
    await _login(session, settings)
    await do_change_password(
        session,
        agent_id=agent.id,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        keep_session_id=current_id,
        settings=settings,
    )
    await rollback(session)
    await commit(session)
    assert bus.published == []
    live = (await session.scalars(select(AgentSession).where(AgentSession.revoked_at.is_(None)))).all()
    assert len(live) == 2


async def test_change_password_requires_the_current_password(
    session: AsyncSession, agent: Agent, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    agent_id = agent.id
    with pytest.raises(NotAuthenticated):
        await do_change_password(
            session,
            agent_id=agent_id,
            current_password="not my password",
            new_password=NEW_PASSWORD,
            keep_session_id=None,
            settings=settings,
        )
    await rollback(session)
    with pytest.raises(InvalidInput):
        await do_change_password(
            session,
            agent_id=agent_id,
            current_password=PASSWORD,
            new_password="short",
            keep_session_id=None,
            settings=settings,
        )
    with pytest.raises(InvalidInput):
        await do_change_password(
            session,
            agent_id=agent_id,
            current_password=PASSWORD,
            new_password=PASSWORD,
            keep_session_id=None,
            settings=settings,
        )
    assert bus.published == []
