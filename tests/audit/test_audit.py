"""Audit trail: recording, filtering, and refusing secrets in details."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.audit.models import AuditActorType
from kefu.audit.service import list_audit_events
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.auth.roles import Role
from kefu.core.clock import FrozenClock, set_clock
from kefu.core.ids import new_id
from tests.auth.conftest import START


async def test_records_actor_kinds_and_filters(session: AsyncSession) -> None:
    clock = FrozenClock(START)
    previous = set_clock(clock)
    try:
        agent = AgentActor(agent_id=new_id(), role=Role.AGENT)
        customer = CustomerActor(contact_id=new_id())
        await record_audit(
            session, action="access.denied", actor=agent, target_type="conversation", target_id="c1"
        )
        clock.advance(timedelta(seconds=1))
        await record_audit(
            session,
            action="attachment.sensitive_read",
            actor=customer,
            target_type="attachment",
            target_id="a1",
            ip="x" * 500,
        )
        clock.advance(timedelta(seconds=1))
        await record_audit(
            session,
            action="auth.login_failed",
            actor=None,
            actor_type=AuditActorType.ANONYMOUS,
            details={"reason": "unknown_email"},
        )
        clock.advance(timedelta(seconds=1))
        await record_audit(session, action="system.tick", actor=None)
        await session.commit()
    finally:
        set_clock(previous)

    events = await list_audit_events(session)
    assert [e.action for e in events] == [
        "system.tick",
        "auth.login_failed",
        "attachment.sensitive_read",
        "access.denied",
    ]
    assert [e.actor_type for e in events] == ["system", "anonymous", "customer", "agent"]
    assert events[3].actor_id == agent.agent_id
    assert events[2].actor_id == customer.contact_id
    assert events[2].ip is not None
    assert len(events[2].ip) == 64
    assert events[0].occurred_at == START + timedelta(seconds=3)
    assert [
        e.action for e in await list_audit_events(session, target_type="conversation", target_id="c1")
    ] == ["access.denied"]
    assert len(await list_audit_events(session, action="auth.login_failed")) == 1
    assert len(await list_audit_events(session, limit=2)) == 2
    assert len(await list_audit_events(session, limit=-5)) == 1


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "token",
        "sessionToken",
        "totp_secret",
        "otp",
        "api-key",
        "seed_phrase",
        "cookie",
    ],
)
async def test_secret_looking_detail_keys_are_refused(session: AsyncSession, key: str) -> None:
    with pytest.raises(ValueError, match="secrets"):
        await record_audit(session, action="x.y", actor=None, details={key: "value"})


async def test_hostile_ip_is_cleaned(session: AsyncSession) -> None:
    event = await record_audit(session, action="x.y", actor=None, ip="10.0.0.1\x00\r\nX-Evil: 1")
    await session.commit()
    assert event.ip == "10.0.0.1X-Evil: 1"


@pytest.mark.parametrize("key", ["token_id", "revoked_session_count", "reason", "old_role", "scopes"])
async def test_harmless_detail_keys_are_allowed(session: AsyncSession, key: str) -> None:
    event = await record_audit(session, action="x.y", actor=None, details={key: "value"})
    assert event.details == {key: "value"}
