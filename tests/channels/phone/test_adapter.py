"""The phone adapter: nothing is ever sent by phone, and an inbox without its auth token is refused.

Replies in phone conversations are not even queued (kefu.channels.delivery): checked here through the
real pipeline, so a reply cannot silently go nowhere.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from kefu.channels.adapter import ChannelInbox, DeliveryRefused, OutboundMessage
from kefu.channels.delivery import CHANNEL_DELIVER
from kefu.channels.phone.adapter import PhoneAdapter, build
from kefu.conversations.actions import do_add_message
from kefu.conversations.models import Conversation
from kefu.conversations.timeline import NewMessage
from kefu.core.clock import FrozenClock
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.jobs.models import OutboxJob
from kefu.runtime import Runtime
from kefu.settings import Settings
from tests.channels.phone.conftest import LINE, Line, post_twilio, twilio_params
from tests.factories import make_agent


def inbox(address: str = LINE, secrets: dict[str, str] | None = None) -> ChannelInbox:
    return ChannelInbox(
        id=uuid.uuid4(),
        channel=ChannelKind.PHONE,
        address=address,
        config={},
        secrets={"auth_token": "t"} if secrets is None else secrets,
    )


async def test_send_refuses_for_good() -> None:
    adapter = build(Settings(env="test"))
    assert adapter.channel == ChannelKind.PHONE
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(inbox(), "+8613800138000", OutboundMessage("hi"), idempotency_key="k")
    assert refused.value.code == "phone"
    await adapter.aclose()


async def test_configure_checks_token_and_number() -> None:
    adapter = PhoneAdapter()
    await adapter.configure(inbox())
    for bad in (
        inbox(secrets={}),
        inbox(address="021 6123 4567"),
        inbox(address="+86 21 6123 4567"),
        inbox(address="+1000"),
    ):
        with pytest.raises(InvalidInput):
            await adapter.configure(bad)


async def test_agents_replies_in_phone_conversations_are_not_queued(
    phone_client: object, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    import httpx

    assert isinstance(phone_client, httpx.AsyncClient)
    assert (
        await post_twilio(phone_client, f"/channels/phone/{line.inbox.id}/voice", twilio_params())
    ).status_code == 200
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        await do_add_message(
            session, agent.actor, conversation, NewMessage(body="Calling you now"), channel=ChannelKind.WEB
        )
    async with runtime.sessionmaker() as session:
        assert list(await session.scalars(select(OutboxJob).where(OutboxJob.name == CHANNEL_DELIVER))) == []
