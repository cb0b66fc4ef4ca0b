"""The console's WebSocket route: who may connect, the handshake, and the connection's lifetime.

What flows over it, and the per-socket state, is `kefu.web.ws.console` (`ConsoleConnection`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from kefu.db.uow import transaction
from kefu.routing.presence import do_connection_closed, do_connection_opened
from kefu.runtime import Runtime
from kefu.web.deps import session_cookie_name
from kefu.web.ws.console import NODE, ConsoleConnection
from kefu.web.ws.console_protocol import (
    CLOSE_PROTOCOL,
    CLOSE_UNAUTHENTICATED,
    Closed,
    ProtocolError,
    Revoked,
    authenticate,
    read_hello,
    same_origin,
)

log = structlog.get_logger(__name__)
router = APIRouter()

CONSOLE_SOCKET_PATH: Final = "/console/ws"


@router.websocket(CONSOLE_SOCKET_PATH)
async def console_socket(websocket: WebSocket) -> None:
    """Signed-in agents only (session cookie, same origin); see the module docstring."""
    runtime: Runtime = websocket.app.state.runtime
    origin = websocket.headers.get("origin")
    if not same_origin(origin, runtime.settings.base_url):
        # Logged: a wrong KEFU_BASE_URL behind a proxy shows up here, not as a silent dead console.
        log.warning("console_socket_refused", reason="origin", origin=(origin or "")[:100])
        await websocket.close(code=1008)  # before accept: the handshake is refused with 403
        return
    token = websocket.cookies.get(session_cookie_name(runtime.settings))
    who = await authenticate(runtime, token)
    if who is None or token is None:
        await websocket.close(code=1008)
        return
    actor, name, private = who
    await websocket.accept()
    connection = ConsoleConnection(websocket, runtime, actor, token, name, private)
    close_code = 1000
    try:
        hello = await read_hello(websocket)
        connection.position = hello.after or await runtime.bus.head()
        if hello.watch:
            await connection.watch(hello.watch, answer=False)
        async with transaction(runtime.sessionmaker) as session:
            connection.connection_id = await do_connection_opened(session, actor.agent_id, NODE)
        await connection.send({"type": "ready", "position": connection.position})
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(connection.pump())
            tasks.create_task(connection.receive())
            tasks.create_task(connection.heartbeat())
    except* WebSocketDisconnect:
        close_code = 0
    except* Revoked:
        close_code = CLOSE_UNAUTHENTICATED
    except* Closed as group:
        close_code = next(e.code for e in group.exceptions if isinstance(e, Closed))
    except* ProtocolError as group:
        error = next(e for e in group.exceptions if isinstance(e, ProtocolError))
        with contextlib.suppress(Exception):
            await connection.send({"type": "error", "code": error.code, "message": str(error)})
        close_code = CLOSE_PROTOCOL
    except* TimeoutError:
        close_code = CLOSE_PROTOCOL
    finally:
        if connection.connection_id is not None:
            with contextlib.suppress(Exception):
                async with transaction(runtime.sessionmaker) as session:
                    await do_connection_closed(session, connection.connection_id)
    if close_code:
        with contextlib.suppress(Exception):
            await websocket.close(code=close_code)
