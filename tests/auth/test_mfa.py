"""TOTP enrolment and verification; admins cannot work without a second factor."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.service import list_audit_events
from kefu.auth.login import check_login, do_verify_second_factor
from kefu.auth.mfa import TotpEnrollment, do_confirm_totp, do_enroll_totp
from kefu.auth.models import Agent
from kefu.auth.roles import Role
from kefu.auth.sessions import SessionState, get_session_state, resolve_session
from kefu.auth.totp import code_for
from kefu.core.clock import FrozenClock
from kefu.core.errors import InvalidInput, NotAuthenticated, RateLimited
from kefu.db.uow import commit, rollback
from kefu.settings import Settings
from tests.auth.conftest import PASSWORD, RecordingBus, make_agent
from tests.conftest import Database


async def _login(session: AsyncSession, settings: Settings, email: str) -> tuple[str, str]:
    result = await check_login(
        session, email=email, password=PASSWORD, ip="192.0.2.1", user_agent=None, settings=settings
    )
    await commit(session)
    return result.session_token, result.agent_session.id


async def _enrolled_admin(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> tuple[Agent, TotpEnrollment, str]:
    """An admin who enrolled TOTP from their first session; returns the admin, secret, session token."""
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    token, session_id = await _login(session, settings, admin.email)
    status = await get_session_state(session, token)
    assert status.state == SessionState.MUST_ENROLL_SECOND_FACTOR
    enrollment = await do_enroll_totp(session, agent_id=admin.id, settings=settings)
    await commit(session)
    await do_confirm_totp(
        session,
        agent_id=admin.id,
        code=code_for(enrollment.secret, at=clock.now()),
        password=PASSWORD,
        settings=settings,
        keep_session_id=session_id,
    )
    await commit(session)
    return admin, enrollment, token


async def test_admin_enrolls_and_the_enrolling_session_becomes_usable(
    db: Database, session: AsyncSession, settings: Settings, clock: FrozenClock, bus: RecordingBus
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    other_token, other_id = await _login(session, settings, admin.email)
    token, session_id = await _login(session, settings, admin.email)
    assert await resolve_session(session, token, settings=settings) is None
    enrollment = await do_enroll_totp(session, agent_id=admin.id, settings=settings)
    await commit(session)
    assert enrollment.provisioning_uri.startswith("otpauth://totp/")
    async with db.sessionmaker() as fresh:
        dump = repr((await fresh.execute(text("SELECT * FROM agents"))).all())
    assert enrollment.secret not in dump

    await do_confirm_totp(
        session,
        agent_id=admin.id,
        code=code_for(enrollment.secret, at=clock.now()),
        password=PASSWORD,
        settings=settings,
        keep_session_id=session_id,
    )
    await commit(session)
    assert admin.totp_enabled
    actor = await resolve_session(session, token, settings=settings)
    assert actor is not None
    assert actor.is_admin
    assert await resolve_session(session, other_token, settings=settings) is None
    assert bus.published[-1].payload["session_ids"] == [other_id]
    events = await list_audit_events(session, target_id=str(admin.id))
    dumped = json.dumps([e.details for e in events])
    assert enrollment.secret not in dumped
    assert PASSWORD not in dumped


async def test_confirm_needs_password_and_a_valid_code(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    agent = await make_agent(session)
    agent_id = agent.id
    enrollment = await do_enroll_totp(session, agent_id=agent_id, settings=settings)
    await commit(session)
    good = code_for(enrollment.secret, at=clock.now())
    with pytest.raises(NotAuthenticated):
        await do_confirm_totp(
            session, agent_id=agent_id, code=good, password="wrong password 1", settings=settings
        )
    await rollback(session)
    with pytest.raises(InvalidInput):
        await do_confirm_totp(
            session,
            agent_id=agent_id,
            code="000000" if good != "000000" else "111111",
            password=PASSWORD,
            settings=settings,
        )
    await rollback(session)
    agent = await do_confirm_totp(session, agent_id=agent_id, code=good, password=PASSWORD, settings=settings)
    await commit(session)
    assert agent.totp_enabled


async def test_second_factor_login_flow_and_replay(
    session: AsyncSession, settings: Settings, clock: FrozenClock, bus: RecordingBus
) -> None:
    admin, enrollment, _ = await _enrolled_admin(session, settings, clock)
    clock.advance(timedelta(seconds=30))
    result = await check_login(
        session, email=admin.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    await commit(session)
    assert result.needs_second_factor
    assert not result.must_enroll_second_factor
    token = result.session_token
    assert (await get_session_state(session, token)).state == SessionState.NEEDS_SECOND_FACTOR
    assert await resolve_session(session, token, settings=settings) is None

    code = code_for(enrollment.secret, at=clock.now())
    verified, full_token = await do_verify_second_factor(
        session, session_token=token, code=code, settings=settings
    )
    await commit(session)
    assert verified.mfa_verified
    # The session id rotates with the privilege: the half-signed-in token is dead, the new one works.
    assert full_token != token
    assert await resolve_session(session, token, settings=settings) is None
    assert await resolve_session(session, full_token, settings=settings) is not None

    # The same code, within its window, on another fresh session: refused.
    again = await check_login(
        session, email=admin.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    await commit(session)
    with pytest.raises(NotAuthenticated):
        await do_verify_second_factor(
            session, session_token=again.session_token, code=code, settings=settings
        )
    await rollback(session)
    clock.advance(timedelta(seconds=30))
    next_code = code_for(enrollment.secret, at=clock.now())
    await do_verify_second_factor(
        session, session_token=again.session_token, code=next_code, settings=settings
    )
    await commit(session)


async def test_wrong_codes_count_toward_the_account_lockout(
    db: Database, session: AsyncSession, settings: Settings, clock: FrozenClock, bus: RecordingBus
) -> None:
    admin, enrollment, _ = await _enrolled_admin(session, settings, clock)
    email = admin.email
    clock.advance(timedelta(seconds=60))
    result = await check_login(
        session, email=email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    await commit(session)
    good = code_for(enrollment.secret, at=clock.now())
    wrong = "123456" if good != "123456" else "654321"
    for _ in range(settings.login_max_failures_per_account):
        with pytest.raises(NotAuthenticated):
            await do_verify_second_factor(
                session, session_token=result.session_token, code=wrong, settings=settings
            )
        await rollback(session)
    with pytest.raises(RateLimited):
        await do_verify_second_factor(
            session, session_token=result.session_token, code=good, settings=settings
        )
    await rollback(session)
    # Re-entering the known password does not reset the budget for guessing codes.
    with pytest.raises(RateLimited):
        await check_login(
            session, email=email, password=PASSWORD, ip=None, user_agent=None, settings=settings
        )
    await rollback(session)
    failures = await list_audit_events(session, action="auth.second_factor_failed")
    assert len(failures) == settings.login_max_failures_per_account
    assert all(wrong not in json.dumps(e.details) for e in failures)


@pytest.mark.parametrize("code", ["", "abcdef", "1" * 5000, "\x00\x00\x00\x00\x00\x00"])
async def test_garbage_codes_are_refused(
    session: AsyncSession, settings: Settings, clock: FrozenClock, bus: RecordingBus, code: str
) -> None:
    admin, _, _ = await _enrolled_admin(session, settings, clock)
    result = await check_login(
        session, email=admin.email, password=PASSWORD, ip=None, user_agent=None, settings=settings
    )
    await commit(session)
    with pytest.raises(NotAuthenticated):
        await do_verify_second_factor(
            session, session_token=result.session_token, code=code, settings=settings
        )


async def test_verify_on_unknown_session_is_refused(session: AsyncSession, settings: Settings) -> None:
    with pytest.raises(NotAuthenticated):
        await do_verify_second_factor(session, session_token="nope", code="123456", settings=settings)


async def test_kyc_reviewer_also_needs_a_second_factor(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    reviewer = await make_agent(session, "kyc@example.com", Role.KYC_REVIEWER)
    token, _ = await _login(session, settings, reviewer.email)
    assert await resolve_session(session, token, settings=settings) is None
    assert (await get_session_state(session, token)).state == SessionState.MUST_ENROLL_SECOND_FACTOR
