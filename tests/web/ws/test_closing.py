"""`send_text` on a socket the server already closed: the ordinary disconnect, for every socket."""

from __future__ import annotations

import pytest
from fastapi import WebSocketDisconnect
from starlette.types import Message
from starlette.websockets import WebSocket

from kefu.web.ws.closing import send_text


async def test_a_send_after_the_close_is_a_disconnect() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    websocket = WebSocket({"type": "websocket", "path": "/console/ws", "headers": []}, receive, send)
    await websocket.accept()
    await send_text(websocket, "{}")
    await websocket.close(1000)
    with pytest.raises(WebSocketDisconnect) as caught:
        await send_text(websocket, '{"type":"event"}')
    assert caught.value.code == 1006
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
