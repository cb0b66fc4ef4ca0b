"""A small client of Meta's Graph API for the Send API and customers' attachment URLs.

The page access token travels as the `access_token` query parameter. httpx logs each request's URL,
so the client only ever sees the URL without it: a transport adds the token to a copy of the request
just before it leaves, and no exception raised here carries a URL or the token.

Attachment URLs come from signed deliveries, yet are still fetched only from Meta's CDNs (or the
configured Graph host, which is where tests put their stand-in), over https, following at most a few
redirects that are checked the same way, and never more than the size limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from kefu.channels.adapter import DeliveryRefused
from kefu.jobs.registry import RetryAfter

_TOKEN_EXTENSION: Final = "kefu_graph_token"  # noqa: S105 - an extension name
MAX_ANSWER_BYTES: Final = 1024 * 1024
MAX_REDIRECTS: Final = 3
# Meta's rate-limit error codes (application, user, page, and per-thread limits); Meta gives no
# Retry-After, so a minute is waited before the next attempt.
RATE_LIMIT_CODES: Final = frozenset({4, 17, 32, 613})
RATE_LIMIT_WAIT: Final = 60.0
# "This message is sent outside of allowed window": Messenger (2018278) and Instagram (2534022).
OUTSIDE_WINDOW_SUBCODES: Final = frozenset({2018278, 2534022})
CDN_SUFFIXES: Final = ("fbcdn.net", "fbsbx.com", "facebook.com", "cdninstagram.com", "instagram.com")
_NETWORK_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class GraphError(Exception):
    """A call failed in a way worth retrying (5xx, transient error codes, network)."""


class DownloadRefused(Exception):
    """An attachment was not fetched: `too_large`, `not_allowed` (the URL), or `failed`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _TokenTransport(httpx.AsyncBaseTransport):
    """Sends a copy of the request with the token added; the original (the one httpx logs) has none."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        token = request.extensions.get(_TOKEN_EXTENSION)
        if isinstance(token, str):
            extensions = {k: v for k, v in request.extensions.items() if k != _TOKEN_EXTENSION}
            request = httpx.Request(
                request.method,
                request.url.copy_add_param("access_token", token),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def outcome_of(status: int, body: Mapping[str, Any]) -> Exception:
    """What a failed Send API answer means: RetryAfter, DeliveryRefused, or GraphError (retried)."""
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("message", ""))[:200]
    if status == 429 or code in RATE_LIMIT_CODES:
        return RetryAfter(RATE_LIMIT_WAIT, "rate limited by Meta")
    if code == 10 and subcode in OUTSIDE_WINDOW_SUBCODES:
        return DeliveryRefused(
            "outside_24h_window",
            "The customer last wrote more than 24 hours ago; Meta only allows replies within 24 hours "
            "of the customer's last message. The reply was not sent; it can go once they write again.",
        )
    if code == 551:
        return DeliveryRefused("recipient_unavailable", "This person isn't available right now (Meta 551)")
    if code == 100 and subcode == 2018001:
        return DeliveryRefused("unknown_recipient", "Meta does not know this customer for the page")
    if code == 190 or status == 401:
        return DeliveryRefused(
            "bad_token", "the inbox's page access token was refused; renew it in the settings"
        )
    if code in (10, 200, 230) or status == 403:
        return DeliveryRefused("not_allowed", f"Meta does not allow this reply: {message}")
    if status >= 500 or code in (1, 2) or error.get("is_transient"):
        return GraphError(f"Graph API {status}: {message}")
    if 400 <= status < 500:
        return DeliveryRefused("rejected", f"Meta refused the reply: {message}")
    return GraphError(f"unexpected Graph API answer {status}")


def _cdn_url_ok(url: str, graph_base: str) -> bool:
    try:
        parts, base = urlsplit(url), urlsplit(graph_base)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.username or parts.password:
        return False
    if parts.scheme == base.scheme and parts.netloc.lower() == base.netloc.lower():
        return True
    return parts.scheme == "https" and any(host == s or host.endswith("." + s) for s in CDN_SUFFIXES)


class GraphApi:
    """One connection pool for every page of this process; the token is passed per call."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            transport=_TokenTransport(transport or httpx.AsyncHTTPTransport()),
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=False,
        )

    async def send(
        self, token: str, body: Mapping[str, Any], *, file: tuple[str, bytes, str] | None = None
    ) -> dict[str, Any]:
        """POST /me/messages: JSON, or multipart with `filedata` when `file` (name, bytes, type)."""
        url = f"{self._base}/me/messages"
        extensions = {_TOKEN_EXTENSION: token}
        try:
            if file is None:
                response = await self._client.post(url, json=dict(body), extensions=extensions)
            else:
                form = {
                    key: json.dumps(value) if isinstance(value, dict) else str(value)
                    for key, value in body.items()
                }
                response = await self._client.post(
                    url, data=form, files={"filedata": file}, extensions=extensions
                )
        except _NETWORK_ERRORS as exc:
            raise GraphError(f"Graph API unreachable: {type(exc).__name__}") from None
        try:
            answer = json.loads(response.content[:MAX_ANSWER_BYTES]) if response.content else {}
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code == 200 and isinstance(answer.get("message_id"), str):
            return answer
        raise outcome_of(response.status_code, answer)

    async def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str | None]:
        """An attachment's bytes and declared type; DownloadRefused when not allowed, too large or failed."""
        for _ in range(MAX_REDIRECTS + 1):
            if not _cdn_url_ok(url, self._base):
                raise DownloadRefused("not_allowed", "the attachment is not on Meta's servers")
            try:
                async with self._client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    if response.status_code != 200:
                        raise DownloadRefused("failed", f"the attachment answered {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise DownloadRefused("too_large", f"the attachment is over {max_bytes} bytes")
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise DownloadRefused("too_large", f"the attachment is over {max_bytes} bytes")
                    return bytes(data), response.headers.get("content-type")
            except _NETWORK_ERRORS as exc:
                raise DownloadRefused(
                    "failed", f"the attachment could not be fetched: {type(exc).__name__}"
                ) from None
        raise DownloadRefused("failed", "too many redirects")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
