"""Sending on a socket the client may have closed a moment ago (both the chat and the console)."""

from __future__ import annotations

from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected


async def send_text(websocket: WebSocket, text: str) -> None:
    """`websocket.send_text`; a socket that closed while the frame was prepared (a reply stored just as
    the client left) raises the ordinary WebSocketDisconnect, not a server error."""
    try:
        await websocket.send_text(text)
    except WebSocketDisconnected:
        raise WebSocketDisconnect(code=1006) from None
