"""The wire side of the HTTP provider: URL checks, signing, retries, deadlines and size limits.

It answers (status, body) and raises only `ExchangeError` subclasses. Logs carry method, path (never
the query, which may hold an email or phone), status and duration; never the secret or any body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from urllib.parse import quote

import httpx
import structlog
from pydantic import SecretStr

from kefu.integrations.exchange.errors import ExchangeError, ExchangeUnavailable
from kefu.integrations.exchange.signing import signed_headers

log = structlog.get_logger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})
_RETRY_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError, TimeoutError)
# Never a legitimate back office: link-local (cloud metadata lives there) and "this host" addresses.
# Private and loopback ranges stay allowed: back offices normally sit on an internal network, and
# this URL comes from the operator's configuration, not from a user.
_BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "169.254.0.0/16", "100.100.100.200/32", "::/128", "fe80::/10", "fd00:ec2::254/128")
)


_LABEL = re.compile(r"^[A-Za-z0-9_\-]{1,63}$")


def check_base_url(base_url: str) -> httpx.URL:
    """The parsed base URL; refuses non-http(s) schemes, credentials, queries and link-local hosts."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError("exchange API URL is not a valid URL") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("exchange API URL must be an http(s) URL with a host")
    if url.userinfo or url.query or url.fragment:
        raise ValueError("exchange API URL must not carry credentials, a query or a fragment")
    try:
        address = ipaddress.ip_address(url.host)
    except ValueError:
        labels = url.raw_host.decode("ascii", "replace").removesuffix(".").split(".")
        if not all(_LABEL.fullmatch(label) for label in labels):
            raise ValueError("exchange API URL has an invalid host name") from None
        return url
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # "::ffff:169.254.169.254" is the metadata address too
    if any(address in network for network in _BLOCKED_NETWORKS):
        raise ValueError("exchange API URL points at a link-local or unspecified address")
    return url


class SignedClient:
    """Sends signed requests to one base URL; retries only what is safe to repeat."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: SecretStr,
        *,
        timeout: float,
        retries: int,
        backoff_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = check_base_url(base_url)
        if timeout <= 0 or retries < 0 or backoff_seconds < 0:
            raise ValueError("timeout must be positive, retries and backoff non-negative")
        self._base = url
        self._prefix = url.path.rstrip("/")
        self._api_key = api_key
        self._secret = api_secret
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff_seconds
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # a redirect could carry the signed request to another host
            headers={"Accept": "application/json", "User-Agent": "kefu-exchange/1"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes = b"",
        idempotency_key: str | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of the final attempt; ExchangeUnavailable once retries are spent."""
        # Only requests that are safe to repeat are retried: reads, and writes the exchange dedupes.
        attempts = 1 + (self._retries if method == "GET" or idempotency_key else 0)
        failure = ExchangeUnavailable("the exchange did not answer")
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 2))
            started = time.monotonic()
            try:
                status, content = await self._attempt(method, path, params, body, idempotency_key)
            except _RETRY_ERRORS as exc:
                failure = ExchangeUnavailable(f"the exchange did not answer ({type(exc).__name__})")
                log.warning(
                    "exchange_request_failed",
                    method=method,
                    path=path,
                    error=type(exc).__name__,
                    attempt=attempt,
                    duration_ms=round((time.monotonic() - started) * 1000),
                )
                continue
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
                raise ExchangeUnavailable(f"the exchange could not be reached ({problem})") from None
            log.info(
                "exchange_request",
                method=method,
                path=path,
                status=status,
                attempt=attempt,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
            if status not in RETRY_STATUSES:
                return status, content
            failure = ExchangeUnavailable(f"the exchange answered {status}")
        raise failure

    async def _attempt(
        self, method: str, path: str, params: dict[str, str] | None, body: bytes, idempotency_key: str | None
    ) -> tuple[int, bytes]:
        url = self._base.copy_with(path=self._prefix + quote(path, safe="/:"))
        headers = {"Content-Type": "application/json"} if body else {}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        request = self._client.build_request(
            method, url, params=params, content=body or None, headers=headers
        )
        # Sign the target exactly as it goes on the wire, after httpx has encoded path and query.
        target = request.url.raw_path.decode("ascii")
        request.headers.update(signed_headers(self._api_key, self._secret, method, target, body))
        # httpx timeouts are per operation; this bounds the whole exchange, slow-drip bodies included.
        async with asyncio.timeout(self._timeout):
            response = await self._client.send(request, stream=True)
            try:
                return response.status_code, await _read_capped(response)
            finally:
                await response.aclose()


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ExchangeError("the exchange response is too large")
        chunks.append(chunk)
    return b"".join(chunks)
