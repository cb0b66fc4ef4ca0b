"""Chat frames beyond messages: offline → email ticket, transcript, rating, diagnostics. Both databases."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from kefu.ratings.models import SatisfactionRating
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.chat.test_chat_socket import chat, post, replay, until
from tests.web.ws.conftest import Live


async def emails(db: Database, template: str) -> list[dict[str, Any]]:
    async with db.sessionmaker() as session:
        jobs = await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND))
        return [job.payload for job in jobs if job.payload["template"] == template]


async def send(socket: ClientConnection, frame: dict[str, Any]) -> None:
    await socket.send(json.dumps(frame))


async def test_offline_chat_becomes_an_email_ticket(live: Live, db: Database) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        ack = await post(socket, "c-1", "Nobody is online, my withdrawal is stuck")
        await send(socket, {"type": "email", "email": "not an address"})
        assert (await until(socket, "error"))["code"] == "invalid"
        await send(socket, {"type": "email", "email": " Wang@Example.COM "})
        ticket = await until(socket, "ticket")
        assert ticket == {
            "type": "ticket",
            "reference": ack["conversation"]["reference"],
            "email": "wang@example.com",
        }
        await send(socket, {"type": "email", "email": "wang@example.com"})  # repeated: no second email
        await until(socket, "ticket")
    async with db.sessionmaker() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        assert conversation.channel == "email"
        owner = await session.scalar(
            select(ContactIdentity.contact_id).where(ContactIdentity.kind == IdentityKind.EMAIL)
        )
        assert owner == conversation.contact_id
    acknowledgements = await emails(db, "request_received")
    assert len(acknowledgements) == 1
    assert acknowledgements[0]["to"] == "wang@example.com"


async def test_an_address_another_customer_holds_moves_the_ticket_to_them(live: Live, db: Database) -> None:
    async with chat(live) as (first, _welcome):
        await replay(first)
        await post(first, "c-1", "first customer")
        await send(first, {"type": "email", "email": "owner@example.com"})
        await until(first, "ticket")
    async with chat(live) as (second, _welcome):
        await replay(second)
        ack = await post(second, "c-1", "someone typing the owner's address")
        await send(second, {"type": "email", "email": "owner@example.com"})
        await until(second, "ticket")
        # The conversation now belongs to the address's owner: this visitor cannot rate or mail it.
        await send(second, {"type": "transcript"})
        assert (await until(second, "error"))["code"] == "not_found"
    async with db.sessionmaker() as session:
        moved = await session.get(Conversation, uuid.UUID(ack["conversation"]["id"]))
        owner = await session.scalar(
            select(ContactIdentity.contact_id).where(ContactIdentity.value == "owner@example.com")
        )
        assert moved is not None
        assert moved.contact_id == owner


async def test_transcript_goes_only_to_the_customers_own_address(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await send(socket, {"type": "transcript"})
        assert (await until(socket, "error"))["code"] == "no_conversation"
        ack = await post(socket, "c-1", "What is my deposit status?")
        await send(socket, {"type": "transcript"})
        assert (await until(socket, "error"))["code"] == "no_email"
        async with httpx.AsyncClient(base_url=live.http_url) as http:
            response = await http.post(
                f"/api/v1/conversations/{ack['conversation']['id']}/messages",
                json={"body": "It is confirmed <b>now</b>"},
                headers={"authorization": f"Bearer {li.token}"},
            )
            assert response.status_code == 201
        await send(socket, {"type": "email", "email": "reader@example.com"})
        await until(socket, "ticket")
        await send(socket, {"type": "transcript"})
        assert (await until(socket, "transcript_sent"))["email"] == "reader@example.com"
        await send(socket, {"type": "transcript"})  # nothing new since: not queued again
        await until(socket, "transcript_sent")
    transcripts = await emails(db, "chat_transcript")
    assert len(transcripts) == 1
    lines = transcripts[0]["context"]["transcript"]
    assert [(line["author"], line["body"]) for line in lines] == [
        ("You", "What is my deposit status?"),
        ("li", "It is confirmed <b>now</b>"),
    ]


async def test_rating_needs_a_solved_chat_and_can_be_changed(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        ack = await post(socket, "c-1", "help")
        await send(socket, {"type": "rate", "score": 5})
        assert (await until(socket, "error"))["code"] == "not_solved"
        async with httpx.AsyncClient(base_url=live.http_url) as http:
            response = await http.patch(
                f"/api/v1/conversations/{ack['conversation']['id']}",
                json={"status": "solved"},
                headers={"authorization": f"Bearer {li.token}"},
            )
            assert response.status_code == 200, response.text
        solved = await until(socket, "conversation")
        while solved["conversation"]["status"] != "solved":
            solved = await until(socket, "conversation")
        for bad in ({"score": 0}, {"score": 6}, {"score": "five"}, {"score": 3, "comment": "x" * 1001}):
            await send(socket, {"type": "rate"} | bad)
            assert (await until(socket, "error"))["code"] == "invalid"
        await send(socket, {"type": "rate", "score": 2, "comment": "slow"})
        assert (await until(socket, "rated"))["score"] == 2
        await send(socket, {"type": "rate", "score": 4, "comment": "actually fine\u0000"})
        await until(socket, "rated")
    async with db.sessionmaker() as session:
        rating = await session.scalar(select(SatisfactionRating))
        assert rating is not None
        assert (rating.score, rating.comment, rating.channel) == (4, "actually fine", "chat")


async def test_diagnostics_are_an_internal_note_with_a_clock_warning(live: Live, db: Database) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await send(socket, {"type": "diagnostics", "page_url": "javascript:alert(1)"})
        assert (await until(socket, "error"))["code"] == "invalid"
        await send(
            socket,
            {
                "type": "diagnostics",
                "browser": "Chrome 131",
                "os": "Android 15",
                "page_url": "https://www.example.com/trade/BTC_USDT",
                "clock_offset_ms": -95_000,
                "rtt_ms": 180,
                "time_zone": "Asia/Shanghai",
                "language": "zh-CN",
            },
        )
        await post(socket, "c-1", "2FA code rejected")
        # The customer never sees the note.
        await send(socket, {"type": "ping"})
        while (received := json.loads(await socket.recv()))["type"] != "pong":
            if received["type"] == "message":
                assert received["message"]["author"]["kind"] == "customer"
    async with db.sessionmaker() as session:
        notes = list(await session.scalars(select(Message).where(Message.kind == MessageKind.NOTE)))
    assert len(notes) == 1
    assert "off by -95 s" in notes[0].body
    facts = notes[0].data["diagnostics"]
    assert facts["page_url"] == "https://www.example.com/trade/BTC_USDT"
    assert facts["rtt_ms"] == 180
    assert "user_agent" in facts
