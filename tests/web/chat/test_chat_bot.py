"""The bot over the real socket: articles with quick replies, deflection, field collection, handover,
silence once an agent has the chat, counting. Both databases."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import event, select
from websockets.asyncio.client import ClientConnection

from kefu.chat.bot.models import BotOutcomeEvent
from kefu.conversations.models import Conversation
from kefu.db.uow import transaction
from kefu.kb.demo import load_demo_kb
from kefu.request_forms.exchange_lists import clear_exchange_lists
from kefu.settings import Settings
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.chat.test_chat_socket import chat, post, replay, until
from tests.web.ws.conftest import Live

TRC20_HASH = "b" * 64


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chat_bot": True})


@pytest.fixture(autouse=True)
async def knowledge_base(db: Database) -> None:
    clear_exchange_lists()
    async with transaction(db.sessionmaker) as session:
        await load_demo_kb(session)


async def bot_message(socket: ClientConnection) -> dict[str, Any]:
    """The next bot message (the customer's own echo comes first)."""
    while True:
        received = await until(socket, "message")
        if received["message"]["author"]["kind"] == "bot":
            return dict(received["message"])


async def choose(socket: ClientConnection, message: dict[str, Any], choice: str) -> None:
    assert choice in [c["id"] for c in message["choices"]], message["choices"]
    await socket.send(json.dumps({"type": "choice", "seq": message["seq"], "choice": choice}))


async def conversation(db: Database, conversation_id: str) -> Conversation:
    async with db.sessionmaker() as session:
        found = await session.get(Conversation, uuid.UUID(conversation_id))
        assert found is not None
        return found


async def outcomes(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        return list(
            await session.scalars(select(BotOutcomeEvent.outcome).order_by(BotOutcomeEvent.created_at))
        )


async def test_articles_then_solved_deflects_and_solves_the_chat(live: Live, db: Database) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        ack = await post(socket, "c-1", "My deposit has not arrived")
        offer = await bot_message(socket)
        assert offer["author"]["name"] == "Kefu Assistant"
        assert offer["articles"]
        assert all(a["url"].startswith("http://kefu.test/hc/en/articles/") for a in offer["articles"])
        await choose(socket, offer, "solved")
        thanks = await bot_message(socket)
        assert thanks["body"]
        solved = await until(socket, "conversation")
        while solved["conversation"]["status"] != "solved":
            solved = await until(socket, "conversation")
        # The solved chat can be rated right away.
        await socket.send(json.dumps({"type": "rate", "score": 5}))
        assert (await until(socket, "rated"))["score"] == 5
    assert (await conversation(db, ack["conversation"]["id"])).status == "solved"
    assert await outcomes(db) == ["answered", "deflected"]


async def test_not_solved_collects_deposit_fields_then_hands_over(live: Live, db: Database) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        ack = await post(socket, "c-1", "My deposit has not arrived")
        await choose(socket, await bot_message(socket), "not_solved")
        await bot_message(socket)  # which coin?
        await post(socket, "c-2", "usdt")
        await bot_message(socket)  # which network?
        await post(socket, "c-3", "TRC20")
        await bot_message(socket)  # the tx hash?
        await post(socket, "c-4", "not a hash")
        retry = await bot_message(socket)  # the validator's message and the same question
        assert "hash" in retry["body"].lower()
        await post(socket, "c-5", TRC20_HASH)
        handed = await bot_message(socket)
        assert handed["body"]
        queue = await until(socket, "queue")
        assert queue["position"] == 1
        # After the handover the bot is silent: the next message gets no bot answer.
        await post(socket, "c-6", "are you there?")
        await socket.send(json.dumps({"type": "choice", "seq": handed["seq"], "choice": "solved"}))
        assert (await until(socket, "error"))["code"] == "not_found"
    chat_row = await conversation(db, ack["conversation"]["id"])
    assert chat_row.category == "deposit"
    assert chat_row.form_fields == {"asset": "USDT", "network": "TRC20", "tx_hash": TRC20_HASH}
    assert await outcomes(db) == ["answered", "handed_over"]


async def test_the_bot_does_not_speak_once_an_agent_has_the_chat(live: Live, db: Database) -> None:
    li = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        ack = await post(socket, "c-1", "talk to a human please")
        await bot_message(socket)
        async with db.sessionmaker() as session, session.begin():
            row = await session.get(Conversation, uuid.UUID(ack["conversation"]["id"]))
            assert row is not None
            row.assignee_id = li.id
        await post(socket, "c-2", "My deposit has not arrived")
        await socket.send(json.dumps({"type": "ping", "t": 0}))
        while (received := json.loads(await socket.recv()))["type"] != "pong":
            if received["type"] == "message":
                assert received["message"]["author"]["kind"] != "bot"


async def test_hostile_text_never_breaks_the_chat(live: Live) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        for n, text in enumerate(
            ["<script>alert(1)</script>", "\u202e\u200b🙂" * 50, "' OR 1=1 --", "x" * 4000]
        ):
            assert (await post(socket, f"c-{n}", text))["seq"] >= 1
        await socket.send(json.dumps({"type": "ping", "t": 1}))
        assert (await until(socket, "pong"))["t"] == 1


async def test_after_the_handover_later_messages_do_not_consult_the_bot(live: Live, db: Database) -> None:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await post(socket, "c-1", "talk to a human please")
        await bot_message(socket)  # the handover
        await until(socket, "queue")
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            for n in range(3):
                await post(socket, f"c-{n + 2}", f"still there? {n}")
            await socket.send(json.dumps({"type": "ping", "t": 0}))
            while (received := json.loads(await socket.recv()))["type"] != "pong":
                if received["type"] == "message":
                    assert received["message"]["author"]["kind"] != "bot"
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert seen  # the messages were stored
    assert not [statement for statement in seen if "chat_bot_sessions" in statement], seen
