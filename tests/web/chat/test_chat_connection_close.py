"""A frame sent after the socket closed ends the connection as a disconnect, not as a server error."""

from __future__ import annotations

import uuid

import pytest
from fastapi import WebSocketDisconnect
from starlette.types import Message
from starlette.websockets import WebSocket

from kefu.chat.identity import ChatCustomer
from kefu.runtime import Runtime
from kefu.web.chat.connection import ChatConnection


async def test_sending_after_the_close_is_a_disconnect(runtime: Runtime) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    websocket = WebSocket({"type": "websocket", "path": "/chat/socket", "headers": []}, receive, send)
    await websocket.accept()
    await websocket.close(1000)
    connection = ChatConnection(websocket, runtime, ChatCustomer(visitor_id=uuid.uuid4()), "en")
    with pytest.raises(WebSocketDisconnect) as caught:
        await connection.send({"type": "message", "seq": 1})
    assert caught.value.code == 1006
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.close"]
