"""An administrator changing an agent's sign-in email notifies the old and the new address (SECURITY.md:
notices to old and new email), through the outbox in the change's own transaction."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import AgentActor
from kefu.auth.models import Agent
from kefu.auth.roles import Role, Scope
from kefu.core.clock import FrozenClock
from kefu.core.errors import Conflict, InvalidInput
from kefu.db.uow import commit
from kefu.jobs.models import OutboxJob
from kefu.mail.compose import compose
from kefu.mail.outbox import MAIL_SEND, MailJob
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.settings import Settings
from kefu.staff.agents import do_update_agent_profile
from kefu.staff.schemas import AgentProfileUpdate
from tests.auth.conftest import PASSWORD, clock, make_agent, settings
from tests.conftest import Database
from tests.factories import make_agent as make_staff

__all__ = ["clock", "settings"]


def _admin(agent: Agent) -> AgentActor:
    return AgentActor(agent_id=agent.id, role=agent.role)


async def _mail(session: AsyncSession) -> list[dict[str, Any]]:
    jobs = await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND).order_by(OutboxJob.id))
    return [job.payload for job in jobs]


async def test_both_addresses_are_told_who_changed_it_and_when(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin.name = "Root Admin"
    li = await make_agent(session, "li@example.com")
    await commit(session)

    await do_update_agent_profile(
        session, _admin(admin), li.id, AgentProfileUpdate(email="Li.Wei@Example.com"), ip=None
    )
    await commit(session)
    mail = sorted(await _mail(session), key=lambda payload: payload["context"]["recipient"])
    assert [(m["to"], m["template"], m["locale"]) for m in mail] == [
        ("li.wei@example.com", "agent_email_changed", "en"),
        ("li@example.com", "agent_email_changed", "en"),
    ]
    assert [m["context"]["recipient"] for m in mail] == ["new", "old"]
    for payload in mail:
        context = payload["context"]
        assert context["old_email"] == "li@example.com"
        assert context["new_email"] == "li.wei@example.com"
        assert context["changed_by"] == "Root Admin"
        assert context["changed_at"] == clock.now().isoformat()
        job = MailJob.model_validate(payload)
        rendered = render(get_spec(job.template), job.locale, job.context)
        assert rendered.subject == "The sign-in email of your agent account was changed"
        for part in (rendered.text, rendered.html):
            assert "li@example.com" in part
            assert "li.wei@example.com" in part
            assert "Root Admin" in part
            assert "Sat, Mar 1, 2025" in part
            assert "contact your security team" in part
            assert PASSWORD not in part
            assert "http" not in part.replace("http-equiv", "")  # no link, so no token to steal
    old = render(get_spec("agent_email_changed"), "en", mail[1]["context"])
    assert "no longer signs in" in old.text
    new = render(get_spec("agent_email_changed"), "en", mail[0]["context"])
    assert "sign in to Kefu with this address" in new.text


async def test_nothing_is_sent_when_the_email_stays_the_same(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    li = await make_agent(session, "li@example.com")
    await commit(session)
    await do_update_agent_profile(
        session, _admin(admin), li.id, AgentProfileUpdate(email=" LI@example.com ", name="Li Wei"), ip=None
    )
    await commit(session)
    assert await _mail(session) == []


async def test_a_refused_change_queues_nothing(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    li = await make_agent(session, "li@example.com")
    await make_agent(session, "taken@example.com")
    await commit(session)
    actor, li_id = _admin(admin), li.id
    with pytest.raises(Conflict):
        await do_update_agent_profile(
            session, actor, li_id, AgentProfileUpdate(email="taken@example.com"), ip=None
        )
    await session.rollback()
    for hostile in ("li@example.com\r\nBcc: evil@attacker.test", "evil@attacker.test, li@example.com"):
        with pytest.raises((InvalidInput, ValueError)):
            await do_update_agent_profile(session, actor, li_id, AgentProfileUpdate(email=hostile), ip=None)
        await session.rollback()
    assert await _mail(session) == []


async def test_the_admin_name_cannot_add_a_header(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    """A name stored before names were cleaned stays in the body, on one line; no header is added."""
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    admin.name = "Root\r\nBcc: evil@attacker.test\r\n\r\n<b>x</b>"
    li = await make_agent(session, "li@example.com")
    await commit(session)
    await do_update_agent_profile(
        session, _admin(admin), li.id, AgentProfileUpdate(email="wei@example.com"), ip=None
    )
    await commit(session)
    for payload in await _mail(session):
        job = MailJob.model_validate(payload)
        assert job.context["changed_by"] == "Root Bcc: evil@attacker.test <b>x</b>"
        rendered = render(get_spec(job.template), job.locale, job.context)
        assert "&lt;b&gt;x&lt;/b&gt;" in rendered.html
        message = compose(
            settings, rendered, to=job.to, message_id="<n@kefu.test>", sent_at=clock.now(), automatic=True
        )
        parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
        assert parsed["Bcc"] is None
        assert parsed["To"] == job.to
        assert "evil@attacker.test" not in str(parsed["Subject"])


async def test_the_api_change_commits_the_notices_with_it(client: httpx.AsyncClient, db: Database) -> None:
    """`PATCH /api/v1/agents/{id}`: the two notices are committed with the change; a refused one has none."""
    admin = await make_staff(db.sessionmaker, "root@kefu.test", role=Role.ADMIN, scopes={Scope.ADMIN})
    li = await make_staff(db.sessionmaker, "li@kefu.test")
    await make_staff(db.sessionmaker, "wang@kefu.test")
    url = f"/api/v1/agents/{li.id}"
    refused = await client.patch(url, json={"email": "wang@kefu.test"}, headers=admin.headers)
    assert refused.status_code == 409
    bad = await client.patch(url, json={"email": "li@kefu.test\r\nbcc: x@evil.test"}, headers=admin.headers)
    assert bad.status_code == 422
    async with db.sessionmaker() as session:
        assert await _mail(session) == []
    moved = await client.patch(url, json={"email": "li.wei@kefu.test"}, headers=admin.headers)
    assert moved.status_code == 200, moved.text
    async with db.sessionmaker() as session:
        mail = await _mail(session)
    assert sorted(m["to"] for m in mail) == ["li.wei@kefu.test", "li@kefu.test"]
    assert {m["context"]["changed_by"] for m in mail} == {"root"}


async def test_an_address_mail_cannot_reach_does_not_stop_the_change(
    session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    admin = await make_agent(session, "root@example.com", Role.ADMIN)
    li = await make_agent(session, "li@example.com")
    await commit(session)
    changed = await do_update_agent_profile(
        session, _admin(admin), li.id, AgentProfileUpdate(email="李伟@example.com"), ip=None
    )
    await commit(session)
    assert changed.email == "李伟@example.com"
    mail = await _mail(session)
    assert [(m["to"], m["context"]["recipient"]) for m in mail] == [("li@example.com", "old")]
    assert mail[0]["context"]["new_email"] == "李伟@example.com"
