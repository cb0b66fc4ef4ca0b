"""The X channel adapter: agents' replies as direct messages through the X API v2.

An inbox needs `consumer_secret` (the app's API key secret: answers the CRC check and verifies
deliveries) and `access_token` (an OAuth 2.0 user token of the support account with `dm.write`,
`dm.read`, `tweet.read` and `users.read`). Its address is the support account's numeric user id;
deliveries for other accounts of the same app are ignored. See docs/channels/x.md.

A reply goes out as `POST /2/dm_conversations/with/{participant_id}/messages {"text": …}`. X's API
takes no idempotency key, so the parts of a reply already sent are remembered per process and a
retry sends only the rest. Files are not sent (DM media needs the separate media upload API): a reply
with files is refused as a whole, so the agent knows, rather than going out without them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from kefu.channels.adapter import ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.channels.sending import SentParts
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from kefu.settings import Settings

REQUIRED_SECRETS: Final = ("consumer_secret", "access_token")
MAX_TEXT: Final = 10_000
MAX_ANSWER_BYTES: Final = 1024 * 1024
DEFAULT_WAIT: Final = 60.0
MAX_WAIT: Final = 15 * 60.0
_USER_ID_RE: Final = re.compile(r"[0-9]{1,25}")
_NETWORK_ERRORS: Final = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class XError(Exception):
    """A call failed in a way worth retrying (5xx, network)."""


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in pieces of at most `limit` characters, broken at a line end where there is one."""
    pieces, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        cut = cut + 1 if cut > limit // 2 else limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


def _detail(response: httpx.Response) -> str:
    try:
        answer = json.loads(response.content[:MAX_ANSWER_BYTES])
    except ValueError:
        return ""
    if not isinstance(answer, dict):
        return ""
    detail = answer.get("detail") or answer.get("title") or ""
    errors = answer.get("errors")
    if not detail and isinstance(errors, list) and errors and isinstance(errors[0], dict):
        detail = errors[0].get("message", "")
    return str(detail)[:200]


def outcome_of(response: httpx.Response, now: float) -> Exception:
    """What a failed DM send means: RetryAfter (429), DeliveryRefused (other 4xx), XError (retried)."""
    status = response.status_code
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset", "")
        wait = float(reset) - now if reset.isascii() and reset.isdigit() else DEFAULT_WAIT
        return RetryAfter(min(max(wait, 1.0), MAX_WAIT), "rate limited by X")
    detail = _detail(response)
    if status == 401:
        return DeliveryRefused("bad_token", "X refused the inbox's access token; renew it in the settings")
    if status == 403:
        return DeliveryRefused("not_allowed", f"X does not allow this direct message: {detail}")
    if 400 <= status < 500:
        return DeliveryRefused("rejected", f"X refused the reply ({status}): {detail}")
    return XError(f"X API answered {status}")


class XAdapter:
    """Sends agents' replies as DMs to the customer's X user id."""

    channel = ChannelKind.X

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._base = settings.x_api_url.rstrip("/")
        self._clock = clock
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False
        )
        self._sent = SentParts()

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        """The text as one DM (several past 10,000 characters); a retry skips the parts already sent."""
        if (finished := self._sent.finished(idempotency_key)) is not None:
            return finished
        token = inbox.secrets.get("access_token", "")
        if not token:
            raise DeliveryRefused("not_configured", "the inbox has no X access token")
        if not _USER_ID_RE.fullmatch(recipient):
            raise DeliveryRefused("unknown_recipient", "the customer's X user id is not valid")
        if message.files:
            raise DeliveryRefused(
                "files_not_supported", "Kefu cannot send files in X direct messages; send the text alone"
            )
        pieces = split_text(message.text)
        if not pieces:
            raise DeliveryRefused("empty", "nothing to send")
        sent = self._sent.begin(idempotency_key)
        for piece in pieces[len(sent) :]:
            sent.append(await self._send_dm(token, recipient, piece))
        return self._sent.finish(idempotency_key, sent)

    async def _send_dm(self, token: str, recipient: str, text: str) -> str:
        url = f"{self._base}/2/dm_conversations/with/{recipient}/messages"
        try:
            response = await self._client.post(
                url, json={"text": text}, headers={"authorization": f"Bearer {token}"}
            )
        except _NETWORK_ERRORS as exc:
            raise XError(f"X API unreachable: {type(exc).__name__}") from None
        if response.status_code in (200, 201):
            try:
                data: Any = json.loads(response.content[:MAX_ANSWER_BYTES]).get("data", {})
            except (ValueError, AttributeError):
                data = {}
            event_id = data.get("dm_event_id") if isinstance(data, dict) else None
            return str(event_id) if event_id else ""
        raise outcome_of(response, self._clock())

    async def configure(self, inbox: ChannelInbox) -> None:
        """Checks the credentials are there; registering the webhook is done at X (see docs)."""
        missing = [key for key in REQUIRED_SECRETS if not inbox.secrets.get(key)]
        if missing:
            raise InvalidInput(f"an X inbox needs the credentials: {', '.join(missing)}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def build(settings: Settings) -> XAdapter:
    """The X adapter of this process (registered in kefu.channels.factory)."""
    return XAdapter(settings)
