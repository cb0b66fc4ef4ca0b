"""Trust in the chat: pasted secrets removed before the echo, identity codes entered in the widget,
a one-step freeze once verified, and the anti-phishing code in the welcome. Both databases."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
from mnemonic import Mnemonic
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from kefu.integrations.exchange.demo_data import ALICE
from kefu.jobs.models import OutboxJob
from kefu.mail.outbox import MAIL_SEND
from tests.conftest import Database
from tests.factories import make_agent
from tests.web.chat.conftest import IDENTITY_SECRET
from tests.web.chat.test_chat_socket import chat, post, replay, until
from tests.web.ws.conftest import Live

SEED = Mnemonic("english").to_mnemonic(bytes(range(16)))


def alice() -> dict[str, str]:
    claims = {"sub": ALICE, "name": "Alice", "email": "alice@example.com", "exp": int(time.time()) + 600}
    return {"jwt": jwt.encode(claims, IDENTITY_SECRET, algorithm="HS256")}


async def send(socket: ClientConnection, frame: dict[str, Any]) -> None:
    await socket.send(json.dumps(frame))


async def sent_code(db: Database) -> str:
    async with db.sessionmaker() as session:
        jobs = list(await session.scalars(select(OutboxJob).where(OutboxJob.name == MAIL_SEND)))
    return str([j.payload for j in jobs if j.payload["template"] == "identity_code"][-1]["context"]["code"])


async def test_a_pasted_seed_phrase_is_gone_before_the_echo(live: Live) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await post(socket, "c-1", f"is this safe? {SEED}")
        echoed = await until(socket, "message")
        assert echoed["message"]["body"] == "is this safe? [redacted: seed phrase]"
        notice = await until(socket, "message")
        assert notice["message"]["author"]["kind"] == "system"
        assert "seed phrase" in notice["message"]["body"]


async def test_identity_code_then_freeze_in_the_widget(live: Live, db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    async with chat(live, identity=alice()) as (socket, welcome):
        assert welcome["identity"] is None
        await replay(socket)
        ack = await post(socket, "c-1", "I think someone is in my account")
        conversation_id = ack["conversation"]["id"]
        await send(socket, {"type": "freeze_account"})
        assert (await until(socket, "error"))["code"] == "not_verified"
        async with httpx.AsyncClient(base_url=live.http_url) as http:
            response = await http.post(
                f"/api/v1/conversations/{conversation_id}/identity/code", headers=agent.headers
            )
            assert response.status_code == 201, response.text
        while "identity_challenge" not in (message := (await until(socket, "message"))["message"]):
            pass
        assert message["identity_challenge"]["destination"] == "a***@example.com"
        code = await sent_code(db)
        await send(socket, {"type": "verify_identity", "code": "000000" if code != "000000" else "111111"})
        wrong = await until(socket, "error")
        assert (wrong["code"], wrong["attempts_left"]) == ("wrong_code", 4)
        await send(socket, {"type": "verify_identity", "code": code})
        assert (await until(socket, "identity"))["verified"] is True
        await send(socket, {"type": "freeze_account"})
        assert (await until(socket, "account_frozen"))["status"] == "frozen"
    # A new socket is told the conversation is verified (the widget shows the freeze card).
    async with chat(live, identity=alice()) as (_socket, welcome):
        assert welcome["identity"]["verified"] is True


async def test_the_anti_phishing_code_is_set_and_shown(live: Live) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        await post(socket, "c-1", "hello")
        await send(socket, {"type": "anti_phishing_code", "code": "Blue Otter"})
        assert (await until(socket, "error"))["code"] == "not_identified"
    async with chat(live, identity=alice()) as (socket, welcome):
        assert welcome["customer"]["anti_phishing_code"] is None
        await replay(socket)
        await post(socket, "c-1", "hello")
        await send(socket, {"type": "anti_phishing_code", "code": "<b>"})
        assert (await until(socket, "error"))["code"] == "invalid"
        await send(socket, {"type": "anti_phishing_code", "code": "Blue Otter"})
        assert (await until(socket, "anti_phishing_code"))["code"] == "Blue Otter"
    async with chat(live, identity=alice()) as (_socket, welcome):
        assert welcome["customer"]["anti_phishing_code"] == "Blue Otter"
    async with chat(live) as (_socket, welcome):
        assert welcome["customer"]["anti_phishing_code"] is None  # never to an anonymous visitor


async def test_malformed_trust_frames_are_refused(live: Live) -> None:
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        for bad in (
            {"type": "verify_identity"},
            {"type": "verify_identity", "code": 123456},
            {"type": "verify_identity", "code": "1" * 65},
            {"type": "freeze_account", "uid": ALICE},
            {"type": "anti_phishing_code", "code": "x" * 201},
        ):
            await send(socket, bad)
            assert (await until(socket, "error"))["code"] == "invalid"
        await send(socket, {"type": "verify_identity", "code": "123456"})
        assert (await until(socket, "error"))["code"] == "no_conversation"
