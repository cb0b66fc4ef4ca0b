"""X's Account Activity webhook end to end: CRC, signatures, hostile bodies, and a DM reply going out."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import select

from kefu.audit.models import AuditEvent
from kefu.channels.x.adapter import XAdapter
from kefu.channels.x.events import crc_response
from kefu.contacts.models import Contact, ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from tests.channels.deliveries import run_deliveries
from tests.channels.x.conftest import make_x_inbox
from tests.channels.x.payloads import CONSUMER_SECRET, CUSTOMER_ID, activity, dm_event, signed
from tests.channels.x.standin import SUPPORT_ID, USER_TOKEN, XStandIn
from tests.factories import make_agent


def _url(inbox: Inbox | uuid.UUID | str) -> str:
    return f"/channels/x/{inbox.id if isinstance(inbox, Inbox) else inbox}/webhook"


async def _post(client: httpx.AsyncClient, inbox: Inbox, body: bytes) -> httpx.Response:
    return await client.post(_url(inbox), content=body, headers=signed(body))


async def _messages(runtime: Runtime) -> list[Message]:
    async with runtime.sessionmaker() as session:
        return list(await session.scalars(select(Message).order_by(Message.created_at, Message.seq)))


async def _audits(runtime: Runtime) -> list[AuditEvent]:
    async with runtime.sessionmaker() as session:
        query = select(AuditEvent).where(AuditEvent.action == "channel.webhook_rejected")
        return list(await session.scalars(query.order_by(AuditEvent.occurred_at)))


async def test_the_crc_check(client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime) -> None:
    answer = await client.get(_url(inbox), params={"crc_token": "crc-token-123"})
    assert answer.status_code == 200
    assert answer.json() == {"response_token": crc_response(CONSUMER_SECRET, "crc-token-123")}
    assert answer.json()["response_token"] == "sha256=HWRdYfDOtxRxRCRrVhFqa63FywJv9h61vQG/daVTiTM="
    assert (await client.get(_url(inbox))).status_code == 400
    assert (await client.get(_url(inbox), params={"crc_token": "x" * 600})).status_code == 400
    assert (await client.get(_url(uuid.uuid4()), params={"crc_token": "a"})).status_code == 404
    inactive = await make_x_inbox(runtime, address="42", active=False)
    assert (await client.get(_url(inactive), params={"crc_token": "a"})).status_code == 404
    assert (
        await client.get(f"/channels/messenger/{inbox.id}/webhook", params={"hub.mode": "subscribe"})
    ).status_code == 404


async def test_unsigned_oversized_and_malformed_deliveries(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    body = activity(dm_event("1", "hello"))
    headers = {"content-type": "application/json"}
    assert (await client.post(_url(inbox), content=body, headers=headers)).status_code == 403
    assert (await client.post(_url(inbox), content=body, headers=signed(body, "guess"))).status_code == 403
    assert (await client.post(_url(inbox), content=body + b" ", headers=signed(body))).status_code == 403
    assert (await _post(client, inbox, b" " * (1024 * 1024 + 1))).status_code == 413
    assert (await _post(client, inbox, b"not json")).status_code == 400
    assert (
        await _post(client, inbox, b'{"for_user_id": "1", "direct_message_events": 5}')
    ).status_code == 400
    assert await _messages(runtime) == []
    reasons = [a.details["reason"] for a in await _audits(runtime)]
    assert sorted(reasons) == sorted(["bad_signature"] * 3 + ["body_too_large", "malformed", "malformed"])


async def test_a_dm_opens_a_conversation_once(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    body = activity(
        dm_event("1", "我的提币卡住了"),
        dm_event("2", "our own reply", sender=SUPPORT_ID, recipient=CUSTOMER_ID),
    )
    assert (await _post(client, inbox, body)).status_code == 200
    assert (await _post(client, inbox, body)).status_code == 200  # redelivered
    [message] = await _messages(runtime)
    assert message.body == "我的提币卡住了"
    async with runtime.sessionmaker() as session:
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        assert (conversation.channel, conversation.inbox_id) == (ChannelKind.X, inbox.id)
        identity = await session.scalar(
            select(ContactIdentity).where(ContactIdentity.contact_id == conversation.contact_id)
        )
        contact = await session.get(Contact, conversation.contact_id)
    assert identity is not None
    assert (identity.kind, identity.value) == (IdentityKind.X, CUSTOMER_ID)
    assert contact is not None
    assert contact.name == "Jordan Brinks"


async def test_other_accounts_media_and_empty_messages(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime
) -> None:
    assert (await _post(client, inbox, activity(dm_event("1", "hi"), for_user_id="777"))).status_code == 200
    assert await _messages(runtime) == []
    photo = {"type": "media", "media": {"id_str": "9", "type": "photo"}}
    body = activity(dm_event("2", "", attachment=photo), dm_event("3", "   "))
    assert (await _post(client, inbox, body)).status_code == 200
    [message] = await _messages(runtime)
    assert message.body == "(photo not received)"
    assert message.data["channel"] == {"media_not_fetched": "photo"}
    [audit] = await _audits(runtime)
    assert audit.details == {"reason": "unusable_events", "skipped_count": 1}


async def test_end_to_end_a_dm_reply_goes_back(
    client: httpx.AsyncClient, inbox: Inbox, runtime: Runtime, xapi: XStandIn, adapter: XAdapter
) -> None:
    assert (await _post(client, inbox, activity(dm_event("1", "where is my ETH?")))).status_code == 200
    assert inbox.team_id is not None
    agent = await make_agent(runtime.sessionmaker, "li@kefu.test", teams=(inbox.team_id,))
    listed = await client.get("/api/v1/conversations", headers=agent.headers)
    [conversation] = listed.json()["items"]
    assert conversation["channel"] == "x"
    url = f"/api/v1/conversations/{conversation['id']}/messages"
    reply = await client.post(url, json={"body": "It arrived, tx 0xabc."}, headers=agent.headers)
    assert reply.status_code == 201
    await run_deliveries(runtime, adapter)
    [call] = xapi.calls
    assert (call.participant_id, call.authorization, call.body) == (
        CUSTOMER_ID,
        f"Bearer {USER_TOKEN}",
        {"text": "It arrived, tx 0xabc."},
    )
    # The customer stopped accepting DMs from us: X answers 403 and the agent is told.
    xapi.fail(403, "You are not allowed to send messages to this user.")
    late = await client.post(url, json={"body": "Anything else?"}, headers=agent.headers)
    await run_deliveries(runtime, adapter)
    async with runtime.sessionmaker() as session:
        sent = await session.get(Message, uuid.UUID(reply.json()["id"]))
        refused = await session.get(Message, uuid.UUID(late.json()["id"]))
        notes = list(await session.scalars(select(Message).where(Message.kind == MessageKind.NOTE)))
    assert sent is not None
    assert refused is not None
    assert sent.data["delivery"]["status"] == "sent"
    assert refused.data["delivery"]["code"] == "not_allowed"
    assert len(notes) == 1
    assert USER_TOKEN not in json.dumps(refused.data)
