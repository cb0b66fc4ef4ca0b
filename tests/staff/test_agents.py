"""Agent administration as actions: who may call them, and what a deactivation announces after commit
(open console sockets close through `agent.sessions_revoked`; colleagues see the agent go offline)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.login import check_login
from kefu.auth.models import Agent
from kefu.auth.roles import Role, Scope
from kefu.core.clock import FrozenClock
from kefu.core.errors import PermissionDenied
from kefu.db.uow import commit
from kefu.events.names import EventName
from kefu.events.types import agent_topic
from kefu.routing.models import Presence
from kefu.routing.presence import set_presence
from kefu.settings import Settings
from kefu.staff.agents import do_deactivate_agent, do_reactivate_agent, do_reset_second_factor
from kefu.staff.schemas import TeamCreate
from kefu.staff.teams import do_create_team
from tests.auth.conftest import PASSWORD, RecordingBus, bus, clock, make_agent, settings

__all__ = ["bus", "clock", "settings"]


def _actor(agent: Agent, *, scopes: frozenset[Scope] | None = None) -> AgentActor:
    if scopes is None:
        return AgentActor(agent_id=agent.id, role=agent.role)
    return AgentActor(agent_id=agent.id, role=agent.role, scopes=scopes, via_token=True)


async def test_deactivation_announces_revoked_sessions_and_presence_after_commit(
    session: AsyncSession, settings: Settings, bus: RecordingBus, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    li = await make_agent(session, "li@example.com")
    first = await check_login(
        session, email=li.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    second = await check_login(
        session, email=li.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    await set_presence(session, li.id, Presence.ONLINE, auto=True)
    await commit(session)
    bus.published.clear()

    await do_deactivate_agent(session, _actor(admin), li.id, ip="192.0.2.7")
    assert bus.published == []  # nothing leaves before the commit
    await commit(session)
    revoked = [e for e in bus.published if e.name == EventName.AGENT_SESSIONS_REVOKED]
    assert len(revoked) == 1
    assert revoked[0].topics == (agent_topic(li.id),)
    assert sorted(revoked[0].payload["session_ids"]) == sorted(
        [first.agent_session.id, second.agent_session.id]
    )
    presence = [e for e in bus.published if e.name == EventName.AGENT_PRESENCE_CHANGED]
    assert [e.payload["status"] for e in presence] == ["offline"]


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        (Role.AGENT, None),
        (Role.SUPERVISOR, None),
        (Role.KYC_REVIEWER, None),
        (Role.ADMIN, frozenset({Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE})),
    ],
)
async def test_only_admins_may_act(
    session: AsyncSession, clock: FrozenClock, role: Role, scopes: frozenset[Scope] | None
) -> None:
    caller = await make_agent(session, "caller@example.com", role)
    target = await make_agent(session, "target@example.com")
    actor = _actor(caller, scopes=scopes)
    for action in (do_deactivate_agent, do_reactivate_agent, do_reset_second_factor):
        with pytest.raises(PermissionDenied):
            await action(session, actor, target.id, ip=None)
    with pytest.raises(PermissionDenied):
        await do_create_team(session, actor, TeamCreate(name="Mine"), ip=None)
