"""HttpExchange against a misbehaving exchange: auth, retries, timeouts, malformed answers, logs."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from kefu.integrations.exchange.client import MAX_RESPONSE_BYTES, check_base_url
from kefu.integrations.exchange.demo_data import ALICE, BOB
from kefu.integrations.exchange.errors import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
)
from kefu.integrations.exchange.http import HttpExchange
from kefu.integrations.exchange.schemas import AccountStatus
from kefu.integrations.exchange.signing import (
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    signed_headers,
    verify_signature,
)
from tests.integrations.exchange.conftest import RunningServer
from tests.integrations.exchange.server import API_KEY, API_SECRET, Canned

ORDER_JSON = {
    "order_id": "8800000001", "uid": ALICE, "pair": "BTC/USDT", "side": "buy", "type": "limit",
    "price": "1", "amount": "1", "filled": "0", "status": "open",
    "created_at": "2025-06-02T09:00:00Z", "updated_at": "2025-06-02T09:00:00Z",
}  # fmt: skip


def _mock(handler: Callable[[httpx.Request], httpx.Response], **kwargs: float) -> HttpExchange:
    return HttpExchange("https://backoffice.example.com/exchange", API_KEY, API_SECRET, timeout=kwargs.get(
        "timeout", 5), retries=int(kwargs.get("retries", 2)), transport=httpx.MockTransport(handler),
        backoff_seconds=0)  # fmt: skip


# --- signatures, checked by the reference server over real HTTP ---------------------------------


async def test_wrong_secret_is_an_auth_error(server: RunningServer) -> None:
    exchange = server.client(secret="not-the-secret")
    try:
        with pytest.raises(ExchangeAuthError):
            await exchange.find_account(uid=ALICE)
    finally:
        await exchange.aclose()
    assert len(server.state.seen) == 1  # a 401 is not retried


async def _raw(server: RunningServer, headers: dict[str, str], body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.post(f"/v1/accounts/{BOB}/unlock", content=body, headers=headers)


async def test_server_rejects_stale_timestamp(server: RunningServer) -> None:
    body = b'{"reason":"r","actor":"a"}'
    target = f"/v1/accounts/{BOB}/unlock"
    stale = int(time.time()) - 301
    headers = signed_headers(API_KEY, API_SECRET, "POST", target, body, timestamp=stale)
    response = await _raw(server, headers | {"Idempotency-Key": "k-1"}, body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    fresh = signed_headers(API_KEY, API_SECRET, "POST", target, body)
    assert (await _raw(server, fresh | {"Idempotency-Key": "k-1"}, body)).status_code == 200


async def test_server_rejects_tampered_body_and_missing_headers(server: RunningServer) -> None:
    target = f"/v1/accounts/{BOB}/unlock"
    headers = signed_headers(API_KEY, API_SECRET, "POST", target, b'{"reason":"r","actor":"a"}')
    tampered = await _raw(server, headers | {"Idempotency-Key": "k-1"}, b'{"reason":"r","actor":"mallory"}')
    assert tampered.status_code == 401
    assert (await _raw(server, {"Idempotency-Key": "k-1"}, b"{}")).status_code == 401
    bad_key = headers | {"X-Kefu-Key": "someone-else", "Idempotency-Key": "k-1"}
    assert (await _raw(server, bad_key, b'{"reason":"r","actor":"a"}')).status_code == 401
    bob = await server.state.exchange.find_account(uid=BOB)
    assert bob is not None
    assert bob.status == AccountStatus.LOCKED


async def test_signature_covers_path_prefix_and_encoded_query() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        target = request.url.raw_path.decode()
        seen.append(target)
        assert verify_signature(
            API_SECRET, timestamp=request.headers[HEADER_TIMESTAMP], method=request.method, target=target,
            body=request.content, signature=request.headers[HEADER_SIGNATURE],
        )  # fmt: skip
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "none"}})

    exchange = _mock(handler)
    assert await exchange.find_account(email="Bob+Support@Example.com") is None
    assert await exchange.find_account(phone="+44 7700 900123") is None
    await exchange.aclose()
    assert seen == [
        "/exchange/v1/accounts?email=bob%2Bsupport%40example.com",
        "/exchange/v1/accounts?phone=%2B447700900123",
    ]


# --- retries and timeouts ------------------------------------------------------------------------


async def test_get_retries_503_twice_then_succeeds(server: RunningServer) -> None:
    server.state.canned.extend([Canned(503), Canned(503)])
    exchange = server.client(retries=2)
    try:
        assert await exchange.get_order("8800000001") is not None
    finally:
        await exchange.aclose()
    assert len(server.state.seen) == 3


async def test_gives_up_after_the_allowed_retries(server: RunningServer) -> None:
    server.state.canned.extend([Canned(502), Canned(504), Canned(503)])
    exchange = server.client(retries=1)
    try:
        with pytest.raises(ExchangeUnavailable, match="504"):
            await exchange.list_pairs()
    finally:
        await exchange.aclose()
    assert len(server.state.seen) == 2


@pytest.mark.parametrize("status", [500, 429])
async def test_500_and_429_are_unavailable_without_retry(server: RunningServer, status: int) -> None:
    server.state.canned.append(Canned(status))
    exchange = server.client()
    try:
        with pytest.raises(ExchangeUnavailable):
            await exchange.list_networks()
    finally:
        await exchange.aclose()
    assert len(server.state.seen) == 1


async def test_unlock_is_retried_with_the_same_idempotency_key(server: RunningServer) -> None:
    server.state.canned.append(Canned(503))
    exchange = server.client()
    try:
        result = await exchange.unlock_account(
            BOB, reason="verified", actor="agent-7", idempotency_key="u-42"
        )
        replay = await exchange.unlock_account(
            BOB, reason="verified", actor="agent-7", idempotency_key="u-42"
        )
    finally:
        await exchange.aclose()
    assert result.changed
    assert replay == result
    assert [s.idempotency_key for s in server.state.seen] == ["u-42", "u-42", "u-42"]


async def test_timeout_is_unavailable(server: RunningServer) -> None:
    server.state.canned.extend([Canned(200, b"{}", delay=1.0), Canned(200, b"{}", delay=1.0)])
    exchange = server.client(retries=1, timeout=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(ExchangeUnavailable, match="did not answer"):
            await exchange.get_order("8800000001")
    finally:
        await exchange.aclose()
    assert time.monotonic() - started < 0.9


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exchange = HttpExchange(f"http://127.0.0.1:{port}", API_KEY, API_SECRET, timeout=1, backoff_seconds=0)
    try:
        with pytest.raises(ExchangeUnavailable):
            await exchange.list_pairs()
    finally:
        await exchange.aclose()


# --- malformed and hostile answers ---------------------------------------------------------------

MALFORMED = [
    b"",
    b"not json",
    b"<html>502 Bad Gateway</html>",
    b"[]",
    b"null",
    b'{"order_id": "8800000001"}',
    json.dumps(ORDER_JSON | {"amount": 1.5}).encode(),
    json.dumps(ORDER_JSON | {"created_at": "2025-06-02T09:00:00"}).encode(),
    json.dumps(ORDER_JSON | {"uid": "../../admin"}).encode(),
    json.dumps(ORDER_JSON | {"order_id": "8800000002"}).encode(),  # answers about another order
    b"\xff\xfe\x00garbage",
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_answers_are_exchange_errors(server: RunningServer, body: bytes) -> None:
    server.state.canned.append(Canned(200, body))
    exchange = server.client()
    try:
        with pytest.raises(ExchangeError) as caught:
            await exchange.get_order("8800000001")
    finally:
        await exchange.aclose()
    assert type(caught.value) is ExchangeError
    assert "8800000002" not in caught.value.message  # response data stays out of error text


async def test_answer_about_another_customer_is_refused(server: RunningServer) -> None:
    other = (await server.state.exchange.find_account(uid=BOB)).model_dump_json()  # type: ignore[union-attr]
    server.state.canned.append(Canned(200, other.encode()))
    exchange = server.client()
    try:
        with pytest.raises(ExchangeError, match="different account"):
            await exchange.find_account(uid=ALICE)
    finally:
        await exchange.aclose()


async def test_oversized_answer_is_refused() -> None:
    exchange = _mock(lambda _: httpx.Response(200, content=b" " * (MAX_RESPONSE_BYTES + 1)))
    with pytest.raises(ExchangeError, match="too large"):
        await exchange.list_pairs()
    await exchange.aclose()


async def test_redirect_is_not_followed(server: RunningServer) -> None:
    server.state.canned.append(Canned(302, headers={"Location": "http://169.254.169.254/latest"}))
    exchange = server.client()
    try:
        with pytest.raises(ExchangeError, match="redirect"):
            await exchange.list_pairs()
    finally:
        await exchange.aclose()
    assert len(server.state.seen) == 1


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (422, b'{"error": {"code": "uid_blocked", "message": "blocked\\r\\nby risk"}}', "uid_blocked"),
        (400, b"<html>nope</html>", "http_400"),
        (409, b'{"error": "flat"}', "http_409"),
    ],
)
async def test_rejections_carry_the_exchange_code(
    server: RunningServer, status: int, body: bytes, code: str
) -> None:
    server.state.canned.append(Canned(status, body))
    exchange = server.client()
    try:
        with pytest.raises(ExchangeRejected) as caught:
            await exchange.freeze_account(ALICE, reason="r", actor="a", idempotency_key="f-1")
    finally:
        await exchange.aclose()
    assert (caught.value.exchange_code, caught.value.http_status) == (code, status)
    assert "\r" not in caught.value.message
    assert "\n" not in caught.value.message


async def test_404_on_lookups_is_none(server: RunningServer) -> None:
    server.state.canned.append(Canned(404, b"not json at all"))
    exchange = server.client()
    try:
        assert await exchange.get_order("8800000001") is None
        assert await exchange.find_account(uid="99999999") is None
        assert await exchange.recent_deposits("99999999") == []
    finally:
        await exchange.aclose()


async def test_logs_hold_no_secret_or_personal_data(server: RunningServer) -> None:
    server.state.canned.append(Canned(503))
    exchange = server.client()
    try:
        with capture_logs() as logs:
            await exchange.find_account(email="alice@example.com")
            await exchange.unlock_account(
                BOB, reason="passport checked", actor="agent-7", idempotency_key="k-1"
            )
    finally:
        await exchange.aclose()
    text = repr(logs)
    assert logs
    assert {entry["path"] for entry in logs} == {"/v1/accounts", f"/v1/accounts/{BOB}/unlock"}
    for secret in (API_SECRET.get_secret_value(), "alice", "example.com", "passport", "+1202"):
        assert secret not in text


# --- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "", "backoffice.example.com", "file:///etc/passwd", "ftp://backoffice.example.com", "javascript:x",
        "http://169.254.169.254/latest/meta-data", "http://[::ffff:169.254.169.254]/", "http://0.0.0.0:8080",
        "http://[fe80::1]/", "https://user:pw@backoffice.example.com", "https://backoffice.example.com/?x=1",
        "https://backoffice.example.com/#frag", "http://", "http://exa mple.com",
        "http://evil.example.com%2F@x/", "gopher://127.0.0.1:25/",
    ],
)  # fmt: skip
def test_unsafe_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="exchange API URL"):
        check_base_url(url)


def test_reasonable_base_urls_are_accepted() -> None:
    for url in (
        "https://backoffice.example.com",
        "http://10.0.0.5:8080/kefu/",
        "http://127.0.0.1:9000",
        "http://[::1]:9000",
        "https://bücher.example.com",
        "http://back-office_1.internal",
    ):
        assert check_base_url(url).host


def test_secret_is_not_in_repr() -> None:
    exchange = HttpExchange(
        "https://backoffice.example.com", API_KEY, SecretStr("hunter2-hunter2"), timeout=1
    )
    assert "hunter2" not in repr(exchange.__dict__)
    assert "hunter2" not in repr(vars(exchange._client))
