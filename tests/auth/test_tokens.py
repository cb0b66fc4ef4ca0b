"""API tokens: shown once, stored hashed, scoped by role, expiring and revocable."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.service import list_audit_events
from kefu.auth.actions import do_change_role
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.auth.models import Agent, ApiToken
from kefu.auth.roles import Role, Scope
from kefu.auth.tokens import (
    do_create_api_token,
    do_issue_api_token_as_operator,
    do_revoke_api_token,
    list_api_tokens,
    resolve_api_token,
)
from kefu.core.clock import FrozenClock
from kefu.core.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from kefu.core.ids import new_id
from kefu.db.uow import commit, rollback
from kefu.settings import Settings
from tests.auth.conftest import PASSWORD, make_agent
from tests.conftest import Database


def _me(agent: Agent, **kwargs: object) -> AgentActor:
    return AgentActor(agent_id=agent.id, role=agent.role, **kwargs)  # type: ignore[arg-type]


async def _create(
    session: AsyncSession,
    agent: Agent,
    settings: Settings,
    scopes: set[Scope] | None = None,
    expires_in_days: int | None = None,
) -> str:
    _, plaintext = await do_create_api_token(
        session,
        agent_id=agent.id,
        name="  CI   bot ",
        scopes=scopes or {Scope.CONVERSATIONS_READ},
        expires_in_days=expires_in_days,
        actor=_me(agent),
        current_password=PASSWORD,
        settings=settings,
    )
    await commit(session)
    return plaintext


async def test_token_is_shown_once_and_stored_hashed(
    db: Database, session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    plaintext = await _create(session, agent, settings)
    assert plaintext.startswith("kefu_")
    assert len(plaintext) > 40
    [row] = await list_api_tokens(session, agent_id=agent.id)
    assert row.name == "CI bot"
    assert plaintext.startswith(row.prefix)
    assert len(row.prefix) == 12
    async with db.sessionmaker() as fresh:
        dump = repr((await fresh.execute(text("SELECT * FROM api_tokens"))).all())
        dump += repr((await fresh.execute(text("SELECT * FROM audit_events"))).all())
    assert plaintext not in dump

    actor = await resolve_api_token(session, plaintext)
    assert actor is not None
    assert actor.via_token
    assert actor.agent_id == agent.id
    assert actor.scopes == frozenset({Scope.CONVERSATIONS_READ})
    assert actor.has_scope(Scope.CONVERSATIONS_READ)
    assert not actor.has_scope(Scope.CONVERSATIONS_WRITE)
    await commit(session)
    async with db.sessionmaker() as fresh:
        stored = await fresh.get(ApiToken, row.id)
        assert stored is not None
        assert stored.last_used_at == clock.now()


async def test_only_admins_may_hold_the_admin_scope(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    with pytest.raises(PermissionDenied):
        await _create(session, agent, settings, {Scope.ADMIN})
    await rollback(session)
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin.totp_secret_encrypted, admin.totp_enabled_at = "v1.placeholder", clock.now()
    await commit(session)
    plaintext = await _create(session, admin, settings, {Scope.ADMIN})
    actor = await resolve_api_token(session, plaintext)
    assert actor is not None
    assert actor.has_scope(Scope.ADMIN)


async def test_demoted_admin_token_loses_admin_scope(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin.totp_secret_encrypted, admin.totp_enabled_at = "v1.placeholder", clock.now()
    await commit(session)
    plaintext = await _create(session, admin, settings, {Scope.ADMIN, Scope.CONVERSATIONS_READ})
    admin.role = Role.AGENT
    await commit(session)
    actor = await resolve_api_token(session, plaintext)
    assert actor is not None
    assert actor.scopes == frozenset({Scope.CONVERSATIONS_READ})


async def test_promotion_to_a_2fa_role_revokes_existing_tokens(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    plaintext = await _create(session, agent, settings)
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    await do_change_role(session, agent_id=agent.id, role=Role.SUPERVISOR, actor=_me(admin))
    await commit(session)
    assert await resolve_api_token(session, plaintext) is not None
    await do_change_role(session, agent_id=agent.id, role=Role.KYC_REVIEWER, actor=_me(admin))
    await commit(session)
    assert await resolve_api_token(session, plaintext) is None


async def test_operator_issues_tokens_from_the_command_line(
    session: AsyncSession, agent: Agent, clock: FrozenClock
) -> None:
    _row, plaintext = await do_issue_api_token_as_operator(
        session,
        agent_email="ALICE@example.com",
        name="exchange backend",
        scopes={Scope.CONVERSATIONS_WRITE},
        expires_in_days=30,
    )
    await commit(session)
    actor = await resolve_api_token(session, plaintext)
    assert actor is not None
    assert actor.scopes == frozenset({Scope.CONVERSATIONS_WRITE})
    [event] = await list_audit_events(session, action="api_token.created")
    assert event.actor_type == "system"
    assert plaintext not in repr(event.details)
    with pytest.raises(PermissionDenied):
        await do_issue_api_token_as_operator(
            session, agent_email=agent.email, name="x", scopes={Scope.ADMIN}, expires_in_days=None
        )
    with pytest.raises(NotFound):
        await do_issue_api_token_as_operator(
            session,
            agent_email="nobody@example.com",
            name="x",
            scopes={Scope.CONVERSATIONS_READ},
            expires_in_days=None,
        )


async def test_tokens_expire(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    plaintext = await _create(session, agent, settings, expires_in_days=1)
    clock.advance(timedelta(days=1) - timedelta(seconds=1))
    assert await resolve_api_token(session, plaintext) is not None
    clock.advance(timedelta(seconds=1))
    assert await resolve_api_token(session, plaintext) is None


async def test_revocation_by_owner_and_admin_only(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    plaintext = await _create(session, agent, settings)
    [row] = await list_api_tokens(session, agent_id=agent.id)
    other = await make_agent(session, "bob@example.com")
    with pytest.raises(NotFound):
        await do_revoke_api_token(session, token_id=row.id, actor=_me(other))
    with pytest.raises(NotFound):
        await do_revoke_api_token(session, token_id=row.id, actor=CustomerActor(contact_id=new_id()))
    with pytest.raises(NotFound):
        await do_revoke_api_token(session, token_id=new_id(), actor=_me(agent))
    admin_actor = AgentActor(agent_id=new_id(), role=Role.ADMIN)
    await do_revoke_api_token(session, token_id=row.id, actor=admin_actor)
    await commit(session)
    assert await resolve_api_token(session, plaintext) is None


async def test_creation_rules(
    session: AsyncSession, agent: Agent, settings: Settings, clock: FrozenClock
) -> None:
    other = await make_agent(session, "bob@example.com")
    me = _me(agent)

    async def create(
        *,
        agent_id: uuid.UUID = me.agent_id,
        actor: AgentActor = me,
        password: str = PASSWORD,
        name: str = "x",
        scopes: frozenset[Scope] = frozenset({Scope.CONVERSATIONS_READ}),
        expires_in_days: int | None = None,
    ) -> None:
        await do_create_api_token(
            session,
            agent_id=agent_id,
            name=name,
            scopes=set(scopes),
            expires_in_days=expires_in_days,
            actor=actor,
            current_password=password,
            settings=settings,
        )

    with pytest.raises(PermissionDenied):  # not for someone else
        await create(agent_id=other.id)
    with pytest.raises(PermissionDenied):  # not with a token
        await create(actor=_me(agent, via_token=True))
    with pytest.raises(NotAuthenticated):  # re-authentication
        await create(password="bad password 1")
    await rollback(session)
    for days in (0, -1, 100_000):
        with pytest.raises(InvalidInput):
            await create(expires_in_days=days)
    for name in ("  ", "x" * 101, "a\x00b", "a\u202eb"):
        with pytest.raises(InvalidInput):
            await create(name=name)
    with pytest.raises(InvalidInput):
        await create(scopes=frozenset())


@pytest.mark.parametrize(
    "token", ["", "kefu_", "kefu_" + "a" * 5000, "Bearer kefu_x", "kfc_abc", "kefu_\x00"]
)
async def test_garbage_tokens_resolve_to_nothing(session: AsyncSession, agent: Agent, token: str) -> None:
    assert await resolve_api_token(session, token) is None
