"""The path every social and phone channel shares: ingest (customer, conversation, idempotency, files,
redaction) and delivery of agents' replies through the adapter (sent, refused, rate limited). Both
databases, with the in-memory adapter standing in for a provider."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import pytest
from mnemonic import Mnemonic
from PIL import Image
from sqlalchemy import select

from kefu.channels.adapter import ChannelFile, InboundMessage
from kefu.channels.credentials import open_secrets, rotate_inbox_secrets, seal_secrets
from kefu.channels.ingest import do_ingest
from kefu.channels.memory import MemoryAdapter
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.actions import do_add_message, do_update_conversation
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import MessageKind, Status
from kefu.conversations.timeline import NewMessage
from kefu.core.errors import InvalidInput, NotFound, UnsupportedMedia
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind, Inbox, Team
from kefu.jobs.registry import RetryAfter
from kefu.runtime import Runtime
from kefu.storage.envelope import DecryptionFailed, Keyring
from kefu.trust.keys import keyring_from_settings
from tests.channels.deliveries import run_deliveries
from tests.factories import StaffMember, make_agent


async def make_inbox(runtime: Runtime, channel: ChannelKind = ChannelKind.TELEGRAM) -> Inbox:
    async with transaction(runtime.sessionmaker) as session:
        team = Team(name=f"Social {uuid.uuid4().hex[:6]}", slug=f"social-{uuid.uuid4().hex[:6]}")
        session.add(team)
        await session.flush()
        inbox = Inbox(name="Support bot", channel=channel, address="@kefu_support_bot", team_id=team.id)
        session.add(inbox)
        await session.flush()
        seal_secrets(keyring_from_settings(runtime.settings), inbox, {"bot_token": "123:abc"})
        return inbox


def inbound(inbox: Inbox, external_id: str, text: str = "hello", **changes: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "inbox_id": inbox.id,
        "channel": ChannelKind(inbox.channel),
        "sender_id": "777000",
        "external_id": external_id,
        "text": text,
        "sender_name": "Wang Wei",
        "locale": "zh-hans",
    }
    return InboundMessage(**(values | changes))


async def ingest(runtime: Runtime, message: InboundMessage) -> Any:
    async with transaction(runtime.sessionmaker) as session:
        return await do_ingest(session, message, blobs=runtime.blobs, settings=runtime.settings)


async def test_first_message_opens_a_conversation_for_the_channel_identity(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    first = await ingest(runtime, inbound(inbox, "1", "充值没到账", facts={"chat_id": 777000}))
    assert first.created
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, first.conversation.id)
        assert conversation is not None
        assert conversation.channel == ChannelKind.TELEGRAM
        assert conversation.inbox_id == inbox.id
        assert conversation.team_id == inbox.team_id
        assert conversation.locale == "zh-CN"
        identity = await session.scalar(
            select(ContactIdentity).where(ContactIdentity.contact_id == conversation.contact_id)
        )
        assert identity is not None
        assert (identity.kind, identity.value) == (IdentityKind.TELEGRAM, "777000")
        message = await session.get(Message, first.message.id)
        assert message is not None
        assert message.data["channel"] == {"chat_id": 777000}
    # A redelivery of the same update stores nothing; the next message continues the conversation.
    again = await ingest(runtime, inbound(inbox, "1", "充值没到账"))
    assert not again.created
    assert again.message.id == first.message.id
    second = await ingest(runtime, inbound(inbox, "2", "还在吗"))
    assert second.conversation.id == first.conversation.id
    async with runtime.sessionmaker() as session:
        bodies = list(await session.scalars(select(Message.body).order_by(Message.seq)))
    assert bodies == ["充值没到账", "还在吗"]


async def test_a_closed_conversation_is_not_reopened(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    first = await ingest(runtime, inbound(inbox, "1"))
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation.id)
        assert conversation is not None
        await do_update_conversation(
            session, agent.actor, conversation, ConversationUpdate(status=Status.OPEN)
        )
        await do_update_conversation(
            session, agent.actor, conversation, ConversationUpdate(status=Status.SOLVED)
        )
        await do_update_conversation(
            session, agent.actor, conversation, ConversationUpdate(status=Status.CLOSED)
        )
    later = await ingest(runtime, inbound(inbox, "2", "new problem"))
    assert later.conversation.id != first.conversation.id


async def test_secrets_are_redacted_and_files_stored(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    seed = Mnemonic("english").to_mnemonic(bytes(range(16)))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    result = await ingest(
        runtime,
        inbound(
            inbox, "1", f"my words {seed}", files=(ChannelFile(buffer.getvalue(), "shot.png", "image/png"),)
        ),
    )
    async with runtime.sessionmaker() as session:
        message = await session.get(Message, result.message.id)
        assert message is not None
        assert message.body == "my words [redacted: seed phrase]"
        files = list(await session.scalars(select(Attachment).where(Attachment.message_id == message.id)))
    assert [(f.content_type, f.width) for f in files] == [("image/png", 40)]


async def test_bad_input_stores_nothing(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    with pytest.raises(InvalidInput):
        await ingest(runtime, inbound(inbox, "1", "   "))
    with pytest.raises(UnsupportedMedia):
        await ingest(runtime, inbound(inbox, "2", "x", files=(ChannelFile(b"\x00\x01junk", "a.exe"),)))
    with pytest.raises(NotFound):
        await ingest(runtime, inbound(inbox, "3", channel=ChannelKind.MESSENGER))
    with pytest.raises(NotFound):
        await ingest(runtime, inbound(inbox, "4", inbox_id=uuid.uuid4()))
    async with runtime.sessionmaker() as session:
        assert list(await session.scalars(select(Conversation))) == []


async def test_credentials_are_sealed_to_their_inbox(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    keyring = keyring_from_settings(runtime.settings)
    async with runtime.sessionmaker() as session:
        stored = await session.get(Inbox, inbox.id)
        assert stored is not None
        assert stored.secrets_sealed is not None
        assert b"123:abc" not in stored.secrets_sealed
        assert open_secrets(keyring, stored) == {"bot_token": "123:abc"}
        other = Inbox(id=uuid.uuid4(), name="x", channel=ChannelKind.TELEGRAM, address="x")
        other.secrets_sealed = stored.secrets_sealed
        with pytest.raises(DecryptionFailed):
            open_secrets(keyring, other)
        with pytest.raises(DecryptionFailed):
            open_secrets(Keyring.derived("another key"), stored)


async def _reply(runtime: Runtime, agent: StaffMember, conversation_id: uuid.UUID, body: str) -> Message:
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message, _ = await do_add_message(
            session, agent.actor, conversation, NewMessage(body=body), channel=ChannelKind.WEB
        )
        return message


async def test_an_agents_reply_goes_out_through_the_adapter_once(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    adapter = MemoryAdapter(ChannelKind.TELEGRAM)
    first = await ingest(runtime, inbound(inbox, "1"))
    reply = await _reply(runtime, agent, first.conversation.id, "It is credited now.")
    async with transaction(runtime.sessionmaker) as session:
        conversation = await session.get(Conversation, first.conversation.id)
        assert conversation is not None
        await do_add_message(  # internal notes never leave
            session,
            agent.actor,
            conversation,
            NewMessage(body="vip", kind=MessageKind.NOTE),
            channel=ChannelKind.WEB,
        )
    await run_deliveries(runtime, adapter)
    await run_deliveries(runtime, adapter)  # a rerun does not send twice
    assert [(s.recipient, s.message.text) for s in adapter.sent] == [("777000", "It is credited now.")]
    async with runtime.sessionmaker() as session:
        stored = await session.get(Message, reply.id)
        assert stored is not None
        assert stored.data["delivery"]["status"] == "sent"
        assert stored.data["delivery"]["external_ids"] == ["m1"]


async def test_refused_and_throttled_replies(runtime: Runtime) -> None:
    inbox = await make_inbox(runtime)
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    first = await ingest(runtime, inbound(inbox, "1"))
    await _reply(runtime, agent, first.conversation.id, "hello?")
    throttled = MemoryAdapter(ChannelKind.TELEGRAM, throttle=30)
    with pytest.raises(RetryAfter):
        await run_deliveries(runtime, throttled)
    refused = MemoryAdapter(ChannelKind.TELEGRAM, refuse="bot_blocked")
    await run_deliveries(runtime, refused)
    async with runtime.sessionmaker() as session:
        messages = list(
            await session.scalars(select(Message).where(Message.conversation_id == first.conversation.id))
        )
    [reply] = [m for m in messages if m.body == "hello?"]
    assert reply.data["delivery"]["code"] == "bot_blocked"
    notes = [m for m in messages if m.kind == MessageKind.NOTE]
    assert len(notes) == 1
    assert "not delivered" in notes[0].body


async def test_key_rotation_rewraps_inbox_credentials(runtime: Runtime) -> None:
    k1 = "k1:" + base64.b64encode(bytes([1]) * 32).decode()
    k2 = "k2:" + base64.b64encode(bytes([2]) * 32).decode()
    async with transaction(runtime.sessionmaker) as session:
        inbox = Inbox(id=uuid.uuid4(), name="bot", channel=ChannelKind.TELEGRAM, address="@b")
        seal_secrets(Keyring.parse(k1), inbox, {"bot_token": "1:x"})
        session.add(inbox)
    async with transaction(runtime.sessionmaker) as session:
        assert await rotate_inbox_secrets(session, Keyring.parse(f"{k2},{k1}")) == (1, [])
    async with runtime.sessionmaker() as session:
        stored = await session.get(Inbox, inbox.id)
        assert stored is not None
        assert open_secrets(Keyring.parse(k2), stored) == {"bot_token": "1:x"}
