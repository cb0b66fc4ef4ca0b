"""Creating agents, changing roles, and who may see which agent."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.service import list_audit_events
from kefu.auth.access import access_agent_by_id
from kefu.auth.actions import do_change_role, do_create_agent
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role, Scope
from kefu.auth.service import build_actor
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.core.ids import new_id
from kefu.db.uow import commit, rollback
from kefu.inboxes.models import Team, TeamMember
from tests.auth.conftest import PASSWORD, make_agent


def _actor(agent: Agent, **kwargs: object) -> AgentActor:
    return AgentActor(agent_id=agent.id, role=agent.role, **kwargs)  # type: ignore[arg-type]


async def test_create_normalises_and_audits(session: AsyncSession) -> None:
    agent = await do_create_agent(
        session,
        email=" Carol@Example.COM ",
        name=" Carol \n Example ",
        role=Role.SUPERVISOR,
        password=PASSWORD,
        actor=None,
    )
    await commit(session)
    assert agent.email == "carol@example.com"
    assert agent.name == "Carol Example"
    assert agent.role is Role.SUPERVISOR
    assert agent.capacity == 10
    assert agent.languages == []
    assert agent.password_hash.startswith("$argon2id$")
    [event] = await list_audit_events(session, action="agent.created")
    assert event.actor_type == "system"
    assert event.target_id == str(agent.id)
    assert PASSWORD not in repr(event.details)


@pytest.mark.parametrize(
    ("email", "stored"),
    [
        ("Agent@Kefu.Localhost", "agent@kefu.localhost"),
        ("kyc@kefu.test", "kyc@kefu.test"),
        ("x@mail.example.com", "x@mail.example.com"),
    ],
)
async def test_demo_and_test_domains_are_accepted(session: AsyncSession, email: str, stored: str) -> None:
    agent = await do_create_agent(
        session, email=email, name="X", role=Role.AGENT, password=PASSWORD, actor=None
    )
    assert agent.email == stored


async def test_duplicate_email_in_any_case_conflicts(session: AsyncSession) -> None:
    await make_agent(session)
    with pytest.raises(Conflict):
        await do_create_agent(
            session, email="ALICE@example.com", name="A", role=Role.AGENT, password=PASSWORD, actor=None
        )


@pytest.mark.parametrize(
    ("email", "name", "password"),
    [
        ("not-an-email", "A", PASSWORD),
        ("a@b", "A", PASSWORD),
        ("a@kefu.invalid", "A", PASSWORD),
        ("a@.localhost", "A", PASSWORD),
        ("a@localhost", "A", PASSWORD),
        ("a@[127.0.0.1]", "A", PASSWORD),
        ("a b@example.com", "A", PASSWORD),
        ("x" * 400 + "@example.com", "A", PASSWORD),
        ("bob@example.com", "", PASSWORD),
        ("bob@example.com", "A\u202eevil", PASSWORD),
        ("bob@example.com", "x" * 201, PASSWORD),
        ("bob@example.com", "A", "short"),
        ("bob@example.com", "A", "bob@example.com"),
    ],
)
async def test_create_rejects_bad_input(session: AsyncSession, email: str, name: str, password: str) -> None:
    with pytest.raises(InvalidInput):
        await do_create_agent(session, email=email, name=name, role=Role.AGENT, password=password, actor=None)


async def test_only_admins_create_agents(session: AsyncSession) -> None:
    supervisor = await make_agent(session, "sup@example.com", Role.SUPERVISOR)
    for actor in (_actor(supervisor), CustomerActor(contact_id=new_id())):
        with pytest.raises(PermissionDenied):
            await do_create_agent(
                session, email="x@example.com", name="X", role=Role.ADMIN, password=PASSWORD, actor=actor
            )
    admin_via_limited_token = AgentActor(
        agent_id=new_id(), role=Role.ADMIN, scopes=frozenset({Scope.CONVERSATIONS_READ}), via_token=True
    )
    with pytest.raises(PermissionDenied):
        await do_create_agent(
            session,
            email="x@example.com",
            name="X",
            role=Role.ADMIN,
            password=PASSWORD,
            actor=admin_via_limited_token,
        )


async def test_change_role_is_admin_only_and_audited(session: AsyncSession) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    agent = await make_agent(session)
    with pytest.raises(PermissionDenied):
        await do_change_role(session, agent_id=agent.id, role=Role.ADMIN, actor=_actor(agent))
    with pytest.raises(NotFound):
        await do_change_role(session, agent_id=new_id(), role=Role.ADMIN, actor=_actor(admin))
    await do_change_role(session, agent_id=agent.id, role=Role.SUPERVISOR, actor=_actor(admin))
    await commit(session)
    assert agent.role is Role.SUPERVISOR
    [event] = await list_audit_events(session, action="agent.role_changed")
    assert event.actor_id == admin.id
    assert event.target_id == str(agent.id)
    assert event.details == {"old_role": "agent", "new_role": "supervisor", "revoked_token_count": 0}


async def test_last_admin_cannot_be_demoted(session: AsyncSession) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin_id, admin_actor = admin.id, _actor(admin)
    with pytest.raises(Conflict):
        await do_change_role(session, agent_id=admin_id, role=Role.AGENT, actor=admin_actor)
    await rollback(session)
    second = await make_agent(session, "root2@example.com", Role.ADMIN)
    demoted = await do_change_role(session, agent_id=admin_id, role=Role.AGENT, actor=_actor(second))
    assert demoted.role is Role.AGENT


async def test_access_agent_by_id(session: AsyncSession) -> None:
    alice = await make_agent(session)
    bob = await make_agent(session, "bob@example.com")
    supervisor = await make_agent(session, "sup@example.com", Role.SUPERVISOR)
    assert (await access_agent_by_id(session, _actor(alice), alice.id)).id == alice.id
    assert (await access_agent_by_id(session, _actor(supervisor), bob.id)).id == bob.id
    with pytest.raises(NotFound):
        await access_agent_by_id(session, _actor(alice), bob.id)
    with pytest.raises(NotFound):
        await access_agent_by_id(session, CustomerActor(contact_id=new_id()), alice.id)
    with pytest.raises(NotFound):
        await access_agent_by_id(session, _actor(supervisor), new_id())


async def test_actor_carries_team_ids_and_role_scopes(session: AsyncSession) -> None:
    alice = await make_agent(session)
    team = Team(name="Withdrawals", slug="withdrawals")
    session.add(team)
    await session.flush()
    session.add(TeamMember(team_id=team.id, agent_id=alice.id))
    await commit(session)
    actor = await build_actor(session, alice)
    assert actor.team_ids == frozenset({team.id})
    assert Scope.ADMIN not in actor.scopes
    assert not actor.has_scope(Scope.ADMIN)
