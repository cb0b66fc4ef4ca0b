"""A reference exchange implementing docs/exchange-api.md over DemoExchange data, for tests.

It verifies every signature like a real exchange must, and can be told to misbehave: canned
responses (status, body, delay) are served before the real handler, in order, one per request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvicorn
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kefu.integrations.exchange.demo import DemoExchange
from kefu.integrations.exchange.errors import ExchangeRejected
from kefu.integrations.exchange.signing import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    verify_signature,
)

ANCHOR = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
API_KEY = "kefu-test-key"
API_SECRET = SecretStr("kefu-test-secret-0123456789abcdef")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    idempotency_key: str | None


class ServerState:
    """What the server serves and what it has seen; reset between tests."""

    def __init__(self) -> None:
        self.exchange = DemoExchange(now=ANCHOR)
        self.canned: deque[Canned] = deque()
        self.seen: list[Seen] = []
        self.keys = {API_KEY: API_SECRET}

    def reset(self) -> None:
        """Fresh demo data, no canned answers, no recorded requests."""
        self.exchange = DemoExchange(now=ANCHOR)
        self.canned.clear()
        self.seen.clear()


def error(status: int, code: str, message: str) -> Response:
    """The contract's error body."""
    body = json.dumps({"error": {"code": code, "message": message}})
    return Response(body, status_code=status, media_type="application/json")


def _json(model: BaseModel | None) -> Response:
    if model is None:
        return error(404, "not_found", "nothing matches")
    return Response(model.model_dump_json(), media_type="application/json")


def _items(models: Sequence[BaseModel]) -> Response:
    body = '{"items":[' + ",".join(m.model_dump_json() for m in models) + "]}"
    return Response(body, media_type="application/json")


def _target(request: Request) -> str:
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _limit(request: Request) -> int:
    value = request.query_params.get("limit", "20")
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise ExchangeRejected("invalid_request", "limit must be 1-100")
    return int(value)


def build_app(state: ServerState) -> Starlette:
    """The Starlette app serving the contract from `state`."""

    def endpoint(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            body = await request.body()
            state.seen.append(Seen(request.method, _target(request), request.headers.get("Idempotency-Key")))
            if state.canned:
                canned = state.canned.popleft()
                await asyncio.sleep(canned.delay)
                return Response(canned.body, status_code=canned.status, headers=canned.headers)
            secret = state.keys.get(request.headers.get(HEADER_KEY, ""))
            if secret is None or not verify_signature(
                secret,
                timestamp=request.headers.get(HEADER_TIMESTAMP, ""),
                method=request.method,
                target=_target(request),
                body=body,
                signature=request.headers.get(HEADER_SIGNATURE, ""),
            ):
                return error(401, "invalid_signature", "signature, key or timestamp rejected")
            try:
                return await handler(request)
            except ExchangeRejected as exc:
                return error(exc.http_status, exc.exchange_code, exc.message)

        return wrapped

    async def accounts(request: Request) -> Response:
        criteria = {k: v for k, v in request.query_params.items() if k in ("uid", "email", "phone")}
        if len(criteria) != 1:
            raise ExchangeRejected("invalid_request", "give exactly one of uid, email, phone")
        return _json(await state.exchange.find_account(**criteria))

    async def known_uid(request: Request) -> str:
        uid: str = request.path_params["uid"]
        if await state.exchange.find_account(uid=uid) is None:
            raise ExchangeRejected("account_not_found", "no account with this uid", http_status=404)
        return uid

    async def orders(request: Request) -> Response:
        uid = await known_uid(request)
        pair = request.query_params.get("pair")
        return _items(await state.exchange.recent_orders(uid, limit=_limit(request), pair=pair))

    async def order(request: Request) -> Response:
        return _json(await state.exchange.get_order(request.path_params["order_id"]))

    async def deposits(request: Request) -> Response:
        uid = await known_uid(request)
        return _items(await state.exchange.recent_deposits(uid, limit=_limit(request)))

    async def withdrawals(request: Request) -> Response:
        uid = await known_uid(request)
        return _items(await state.exchange.recent_withdrawals(uid, limit=_limit(request)))

    async def transaction(request: Request) -> Response:
        return _json(await state.exchange.find_transaction(request.path_params["tx_hash"]))

    async def pairs(request: Request) -> Response:
        return _items(await state.exchange.list_pairs())

    async def networks(request: Request) -> Response:
        return _items(await state.exchange.list_networks())

    async def action(request: Request) -> Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            raise ExchangeRejected("invalid_request", "Idempotency-Key header is required", http_status=400)
        try:
            payload = json.loads(await request.body())
            reason, actor = str(payload["reason"]), str(payload["actor"])
        except (ValueError, KeyError, TypeError):
            raise ExchangeRejected("invalid_request", "body must be {reason, actor}") from None
        acts = {"unlock": state.exchange.unlock_account, "freeze": state.exchange.freeze_account}
        act = acts.get(request.path_params["action"])
        if act is None:
            return error(404, "not_found", "no such action")
        return _json(await act(request.path_params["uid"], reason=reason, actor=actor, idempotency_key=key))

    routes = [
        Route("/v1/accounts", endpoint(accounts)),
        Route("/v1/accounts/{uid}/orders", endpoint(orders)),
        Route("/v1/accounts/{uid}/deposits", endpoint(deposits)),
        Route("/v1/accounts/{uid}/withdrawals", endpoint(withdrawals)),
        Route("/v1/accounts/{uid}/{action:str}", endpoint(action), methods=["POST"]),
        Route("/v1/orders/{order_id}", endpoint(order)),
        Route("/v1/transactions/{tx_hash}", endpoint(transaction)),
        Route("/v1/pairs", endpoint(pairs)),
        Route("/v1/networks", endpoint(networks)),
    ]
    return Starlette(routes=routes)


class ServerThread:
    """Serves an app with uvicorn on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app: Starlette) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test exchange server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
