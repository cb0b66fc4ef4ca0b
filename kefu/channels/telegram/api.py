"""A small client of the Telegram Bot API (https://core.telegram.org/bots/api): the methods Kefu uses.

Every answer is `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`. A 429 is waited out here when short and raised as `RetryAfter`
otherwise; a bot blocked by the user (403) or an unknown chat (400) becomes `DeliveryRefused`.

The bot token is part of every URL (`/bot<token>/<method>`, `/file/bot<token>/<path>`). httpx logs
request URLs at INFO, so the client only ever sees a placeholder; a transport puts the real token in
just before the request leaves. No exception raised here carries a URL or the token.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

import httpx

from kefu.channels.adapter import ChannelFile, DeliveryRefused
from kefu.jobs.registry import RetryAfter

_MARK: Final = "botREDACTED"
_TOKEN_EXTENSION: Final = "kefu_telegram_token"  # noqa: S105 - a dict key, not a secret
TOKEN_RE: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
# file_path as getFile returns it ("photos/file_0.jpg", "documents/file_3.pdf"): nothing that could
# leave the /file/bot<token>/ prefix.
_FILE_PATH_RE: Final = re.compile(
    r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}){0,4}"
)
MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
RETRY_STATUSES: Final = frozenset({500, 502, 503, 504})
_NETWORK_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

Sleep = Callable[[float], Awaitable[None]]


class TelegramError(Exception):
    """The Bot API refused a call (`error_code`, `description`), or could not be reached (code 0)."""

    def __init__(self, method: str, error_code: int, description: str) -> None:
        super().__init__(f"Telegram {method}: {error_code} {description}"[:300])
        self.method = method
        self.error_code = error_code
        self.description = description[:200]


class FileTooLarge(TelegramError):
    """A file is larger than we accept (declared by Telegram or seen while downloading)."""


def _check_token(token: str) -> bytes:
    if not TOKEN_RE.fullmatch(token):
        # Never quote the value: it is a credential, even when malformed.
        raise TelegramError("token", 401, "the bot token is malformed")
    return token.encode()


class _TokenTransport(httpx.AsyncBaseTransport):
    """Puts the bot token into the URL after httpx has logged it with the placeholder."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        token = extensions.pop(_TOKEN_EXTENSION, None)
        if isinstance(token, bytes):
            raw = request.url.raw_path.replace(b"/" + _MARK.encode() + b"/", b"/bot" + token + b"/", 1)
            # A copy: httpx logs the original request's URL once the response is back.
            request = httpx.Request(
                request.method,
                request.url.copy_with(raw_path=raw),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def refusal_of(error: TelegramError) -> DeliveryRefused | None:
    """The permanent refusal a failed send means, if any (the rest is retried)."""
    text = error.description.lower()
    if error.error_code == 403:
        if "blocked" in text:
            return DeliveryRefused("bot_blocked", "the customer blocked the bot")
        if "deactivated" in text:
            return DeliveryRefused("user_deactivated", "the customer's Telegram account is deleted")
        return DeliveryRefused("forbidden", f"Telegram refused: {error.description}")
    if error.error_code == 400:
        if "chat not found" in text or "user not found" in text:
            return DeliveryRefused("chat_not_found", "Telegram does not know this chat")
        return DeliveryRefused("rejected", f"Telegram refused: {error.description}")
    if error.error_code == 401:
        return DeliveryRefused("bad_token", "the inbox's bot token was refused; check it in the settings")
    return None


class BotApi:
    """One connection pool for every bot of this process; the token is passed per call."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_wait: float = 5.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._max_wait = max_wait
        self._retries = retries
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            transport=_TokenTransport(transport or httpx.AsyncHTTPTransport()),
            timeout=timeout,
            follow_redirects=False,  # a redirect would carry the token to wherever it points
            headers={"User-Agent": "kefu-telegram/1"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def call(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        upload: tuple[str, ChannelFile] | None = None,
        read_seconds: float | None = None,
        safe: bool = True,
    ) -> Any:
        """The `result` of a Bot API method. `safe`: repeating the call cannot duplicate anything,
        so network errors and 5xx are retried too (sends are retried only after a 429)."""
        secret = _check_token(token)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(secret, method, params, upload, read_seconds)
            except RetryAfter as wait:
                if wait.seconds > self._max_wait or attempt > self._retries:
                    raise
                await self._sleep(wait.seconds)
            except TelegramError as error:
                if not (safe and error.error_code in {0, *RETRY_STATUSES}) or attempt > self._retries:
                    raise
                await self._sleep(0.5 * 2 ** (attempt - 1))

    async def _once(
        self,
        token: bytes,
        method: str,
        params: Mapping[str, Any] | None,
        upload: tuple[str, ChannelFile] | None,
        read_seconds: float | None,
    ) -> Any:
        url = f"{self._base}/{_MARK}/{method}"
        extensions = {_TOKEN_EXTENSION: token}
        request_timeout = (
            httpx.Timeout(read_seconds) if read_seconds is not None else httpx.USE_CLIENT_DEFAULT
        )
        try:
            if upload is None:
                response = await self._client.post(
                    url, json=dict(params or {}), extensions=extensions, timeout=request_timeout
                )
            else:
                field, file = upload
                form = {key: _form_value(value) for key, value in (params or {}).items()}
                parts = {field: (file.filename, file.data, file.content_type or "application/octet-stream")}
                response = await self._client.post(
                    url, data=form, files=parts, extensions=extensions, timeout=request_timeout
                )
        except _NETWORK_ERRORS as exc:
            raise TelegramError(method, 0, f"not reachable ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise TelegramError(method, 0, f"request failed ({type(exc).__name__})") from None
        return _result(method, response)

    async def download(self, token: str, file_path: str, *, max_bytes: int) -> bytes:
        """The bytes of a file getFile described; FileTooLarge beyond `max_bytes` (stops reading)."""
        secret = _check_token(token)
        if ".." in file_path or not _FILE_PATH_RE.fullmatch(file_path):
            raise TelegramError("download", 400, "unexpected file path")
        url = f"{self._base}/file/{_MARK}/{file_path}"
        chunks: list[bytes] = []
        received = 0
        try:
            async with self._client.stream("GET", url, extensions={_TOKEN_EXTENSION: secret}) as response:
                if response.status_code != 200:
                    raise TelegramError("download", response.status_code, "the file could not be fetched")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FileTooLarge("download", 413, f"the file is over {max_bytes} bytes")
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise FileTooLarge("download", 413, f"the file is over {max_bytes} bytes")
                    chunks.append(chunk)
        except _NETWORK_ERRORS as exc:
            raise TelegramError("download", 0, f"not reachable ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise TelegramError("download", 0, f"request failed ({type(exc).__name__})") from None
        return b"".join(chunks)

    # --- the methods, named as in the Bot API ---------------------------------------------------

    async def get_me(self, token: str) -> dict[str, Any]:
        """The bot's own user (id, username): checks the token."""
        return _object(await self.call(token, "getMe"))

    async def set_webhook(
        self, token: str, url: str, *, secret_token: str, allowed_updates: Sequence[str]
    ) -> None:
        """Ask Telegram to POST updates to `url` with `secret_token` in X-Telegram-Bot-Api-Secret-Token."""
        params = {"url": url, "secret_token": secret_token, "allowed_updates": list(allowed_updates)}
        await self.call(token, "setWebhook", params)

    async def delete_webhook(self, token: str) -> None:
        """Stop webhook delivery (getUpdates only works without a webhook); pending updates stay."""
        await self.call(token, "deleteWebhook", {"drop_pending_updates": False})

    async def get_updates(
        self,
        token: str,
        *,
        offset: int | None,
        poll_seconds: int,
        allowed_updates: Sequence[str],
        limit: int = 100,
    ) -> list[Any]:
        """Long-poll for updates after `offset` (which also confirms every earlier one)."""
        params: dict[str, Any] = {
            "timeout": poll_seconds,
            "limit": limit,
            "allowed_updates": list(allowed_updates),
        }
        if offset is not None:
            params["offset"] = offset
        result = await self.call(token, "getUpdates", params, read_seconds=poll_seconds + 10.0)
        if not isinstance(result, list):
            raise TelegramError("getUpdates", 0, "the answer is not a list")
        return result

    async def get_file(self, token: str, file_id: str) -> dict[str, Any]:
        """The File object (file_path, file_size) of `file_id`, valid for an hour."""
        return _object(await self.call(token, "getFile", {"file_id": file_id}))

    async def send_message(self, token: str, chat_id: str, text: str) -> dict[str, Any]:
        """Send plain text (no parse_mode: nothing an agent types is read as markup)."""
        params = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        return await self._send(token, "sendMessage", params)

    async def send_photo(
        self, token: str, chat_id: str, file: ChannelFile, caption: str = ""
    ) -> dict[str, Any]:
        """Upload and send a photo (Telegram's limit: 10 MB)."""
        return await self._send(token, "sendPhoto", {"chat_id": chat_id, "caption": caption}, ("photo", file))

    async def send_document(
        self, token: str, chat_id: str, file: ChannelFile, caption: str = ""
    ) -> dict[str, Any]:
        """Upload and send any file as a document (Telegram's limit: 50 MB)."""
        params = {"chat_id": chat_id, "caption": caption}
        return await self._send(token, "sendDocument", params, ("document", file))

    async def _send(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        upload: tuple[str, ChannelFile] | None = None,
    ) -> dict[str, Any]:
        try:
            return _object(await self.call(token, method, params, upload=upload, safe=False))
        except TelegramError as error:
            refused = refusal_of(error)
            if refused is not None:
                raise refused from None
            raise


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _object(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TelegramError("result", 0, "the answer is not an object")
    return result


def _result(method: str, response: httpx.Response) -> Any:
    if len(response.content) > MAX_ANSWER_BYTES:
        raise TelegramError(method, 0, "the answer is too large")
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
        # A proxy's HTML error page, a truncated answer: retried like a network failure.
        code = response.status_code if response.status_code >= 500 else 0
        raise TelegramError(method, code, f"unexpected answer (HTTP {response.status_code})")
    if body["ok"]:
        return body.get("result")
    given = body.get("error_code")
    code = given if isinstance(given, int) and not isinstance(given, bool) else response.status_code
    description = body.get("description")
    description = description if isinstance(description, str) else ""
    parameters = body.get("parameters")
    if code == 429:
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        seconds = wait if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0 else 5
        raise RetryAfter(min(float(seconds), 3600.0), f"Telegram {method}: rate limited")
    raise TelegramError(method, code, "".join(c for c in description if c.isprintable()))
