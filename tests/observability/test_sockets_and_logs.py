"""Open WebSockets are counted by kind; a request's log lines carry its ids and no personal data."""

from __future__ import annotations

import asyncio
import json

import httpx
import structlog
from websockets.asyncio.client import connect

from kefu.runtime import Runtime
from tests.conftest import Database
from tests.factories import make_agent, make_customer, open_conversation
from tests.observability.test_metrics_endpoint import sample
from tests.web.ws.conftest import serving


async def _open_chats(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    return sample(text, "kefu_websocket_connections", kind="chat") or 0.0


async def test_chat_sockets_are_counted_while_open(runtime: Runtime) -> None:
    async with serving(runtime) as live, httpx.AsyncClient(base_url=live.http_url) as http:
        before = await _open_chats(http)
        url = live.http_url.replace("http://", "ws://") + "/chat/ws"
        async with connect(url, origin=live.origin) as socket:  # type: ignore[arg-type]
            await socket.send(json.dumps({"type": "hello", "v": 1, "locale": "en"}))
            assert json.loads(await socket.recv())["type"] == "welcome"
            assert await _open_chats(http) == before + 1
            accepted = sample(
                (await http.get("/metrics")).text, "kefu_websocket_connections_accepted_total", kind="chat"
            )
            assert accepted is not None
            assert accepted >= 1
        for _ in range(100):
            if await _open_chats(http) == before:
                break
            await asyncio.sleep(0.05)
        assert await _open_chats(http) == before


async def test_request_logs_carry_request_and_conversation_ids_but_no_personal_data(
    db: Database, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    customer = await make_customer(db.sessionmaker, runtime.settings, "alice.wong@example.com")
    body = "My withdrawal 0xDEADBEEF never arrived, passport E1234567"
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        created = await open_conversation(client, customer, body=body)
        conversation_id = str(created["id"])
        response = await client.get(f"/api/v1/conversations/{conversation_id}", headers=agent.headers)
        assert response.status_code in (200, 404)
        reply = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": body + " again"},
            headers=customer.headers,
        )
        assert reply.status_code == 201, reply.text
    requests = [line for line in logs if line["event"] == "request"]
    assert len(requests) == 3
    assert all(len(line["request_id"]) == 32 for line in requests)
    assert len({line["request_id"] for line in requests}) == 3
    assert requests[-1]["request_id"] == reply.headers["x-request-id"]
    assert requests[-1]["conversation_id"] == conversation_id
    text = repr(logs)
    assert "0xDEADBEEF" not in text
    assert "E1234567" not in text
    assert "alice.wong" not in text
    # Nothing of the request stays bound once it is answered.
    assert not {"request_id", "conversation_id"} & structlog.contextvars.get_contextvars().keys()
