"""The Telegram channel: one support bot per inbox, updates by webhook or long polling.

An inbox needs the `bot_token` credential (from @BotFather) and, in webhook mode, `webhook_secret`
(Telegram echoes it in X-Telegram-Bot-Api-Secret-Token). Its config may say `{"mode": "polling"}` for
deployments without a public URL, and `{"brand": "…"}` for the greeting. See docs/channels/telegram.md.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from typing import Final

import structlog

from kefu.channels.adapter import ChannelFile, ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.channels.sending import SentParts, remember
from kefu.channels.telegram.api import BotApi, FileTooLarge, TelegramError
from kefu.channels.telegram.greeting import greeting_text
from kefu.channels.telegram.pacing import SendPacer
from kefu.channels.telegram.updates import FileRef, Greeting
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from kefu.settings import Settings

log = structlog.get_logger(__name__)
ALLOWED_UPDATES: Final = ("message",)
MODES: Final = frozenset({"webhook", "polling"})
# Telegram's limits: 4096 UTF-16 units of text, photos up to 10 MB uploaded, other files up to 50 MB.
MAX_TEXT_UNITS: Final = 4096
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES: Final = 50 * 1024 * 1024
PHOTO_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
SECRET_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,256}")
# Remembered per process: parts of a reply already sent (a retry sends only the rest), greeted updates.


def inbox_mode(inbox: ChannelInbox) -> str:
    """The inbox's mode: "webhook" (the default) or "polling"."""
    mode = inbox.config.get("mode", "webhook")
    return mode if isinstance(mode, str) else ""


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """`text` in pieces Telegram accepts, broken at a line end where there is one."""
    pieces: list[str] = []
    rest = text
    while rest:
        units, end = 0, 0
        for end, char in enumerate(rest):  # noqa: B007 - `end` is used after the loop
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
        else:
            pieces.append(rest)
            break
        cut = rest.rfind("\n", 0, end)
        cut = cut + 1 if cut > end // 2 else end
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in pieces if piece.strip()]


class TelegramAdapter:
    """Sends agents' replies, configures webhooks, fetches customers' files, greets on /start."""

    channel = ChannelKind.TELEGRAM

    def __init__(
        self, settings: Settings, *, api: BotApi | None = None, pacer: SendPacer | None = None
    ) -> None:
        self.settings = settings
        self.api = api or BotApi(settings.telegram_api_url)
        self.pacer = pacer or SendPacer()
        self._sent = SentParts()
        self._greeted: OrderedDict[tuple[str, int], None] = OrderedDict()

    @staticmethod
    def token(inbox: ChannelInbox) -> str:
        """The inbox's bot token; DeliveryRefused when the inbox has none."""
        token = inbox.secrets.get("bot_token", "")
        if not token:
            raise DeliveryRefused("not_configured", "the inbox has no bot token")
        return token

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        """Text first (split at Telegram's limit), then each file; a retry skips the parts already sent."""
        if (finished := self._sent.finished(idempotency_key)) is not None:
            return finished
        token = self.token(inbox)
        parts: list[tuple[str, ChannelFile | None]] = [(piece, None) for piece in split_text(message.text)]
        parts += [("", file) for file in message.files]
        if not parts:
            raise DeliveryRefused("empty", "nothing to send")
        sent = self._sent.begin(idempotency_key)
        for text, file in parts[len(sent) :]:
            wait = self.pacer.reserve(str(inbox.id), recipient)
            if wait:
                await asyncio.sleep(wait)
            if file is None:
                result = await self.api.send_message(token, recipient, text)
            else:
                result = await self._send_file(token, recipient, file)
            sent.append(str(result.get("message_id", "")))
        return self._sent.finish(idempotency_key, sent)

    async def _send_file(self, token: str, recipient: str, file: ChannelFile) -> dict[str, object]:
        size = len(file.data)
        if (file.content_type or "") in PHOTO_TYPES and size <= MAX_PHOTO_BYTES:
            return await self.api.send_photo(token, recipient, file)
        if size > MAX_DOCUMENT_BYTES:
            raise DeliveryRefused("file_too_large", f"{file.filename} is over Telegram's 50 MB limit")
        return await self.api.send_document(token, recipient, file)

    async def configure(self, inbox: ChannelInbox) -> None:
        """Webhook mode: setWebhook to this inbox's URL with its secret; polling mode: deleteWebhook."""
        token = inbox.secrets.get("bot_token", "")
        if not token:
            raise InvalidInput("a Telegram inbox needs the bot_token credential")
        mode = inbox_mode(inbox)
        if mode not in MODES:
            raise InvalidInput('config.mode must be "webhook" or "polling"')
        await self.api.get_me(token)  # a wrong token is reported now, not at the first message
        if mode == "polling":
            await self.api.delete_webhook(token)
            return
        secret = inbox.secrets.get("webhook_secret", "")
        if not SECRET_TOKEN_RE.fullmatch(secret):
            raise InvalidInput(
                "webhook mode needs a webhook_secret credential: 16-256 of A-Z, a-z, 0-9, _ and -"
            )
        url = f"{self.settings.base_url.rstrip('/')}/channels/telegram/{inbox.id}/webhook"
        await self.api.set_webhook(token, url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def fetch_file(self, inbox: ChannelInbox, ref: FileRef) -> ChannelFile:
        """The bytes of a customer's file; FileTooLarge over upload_max_bytes, TelegramError otherwise."""
        limit = self.settings.upload_max_bytes
        if ref.size is not None and ref.size > limit:
            raise FileTooLarge("getFile", 413, f"the file is over {limit} bytes")
        token = self.token(inbox)
        try:
            described = await self.api.get_file(token, ref.file_id)
        except TelegramError as error:
            if error.error_code == 400 and "too big" in error.description.lower():
                raise FileTooLarge("getFile", 413, "Telegram lets bots download files up to 20 MB") from None
            raise
        path = described.get("file_path")
        if not isinstance(path, str):
            raise TelegramError("getFile", 0, "no file_path in the answer")
        data = await self.api.download(token, path, max_bytes=limit)
        return ChannelFile(data, ref.filename, ref.content_type)

    async def greet(self, inbox: ChannelInbox, greeting: Greeting) -> bool:
        """Send the /start greeting once per update; False (logged) when Telegram did not take it."""
        key = (str(inbox.id), greeting.update_id)
        if key in self._greeted:
            return True
        text = greeting_text(greeting.locale, self.settings.base_url, inbox.config)
        try:
            await self.api.send_message(self.token(inbox), greeting.chat_id, text)
        except (DeliveryRefused, RetryAfter, TelegramError) as exc:
            # The customer can press Start again; a greeting is not worth a retry queue.
            log.warning("telegram_greeting_failed", inbox_id=str(inbox.id), error=type(exc).__name__)
            return False
        remember(self._greeted, key, None)
        return True

    async def aclose(self) -> None:
        """Close the Bot API connection pool."""
        await self.api.aclose()


def build(settings: Settings) -> TelegramAdapter:
    """The Telegram adapter of this process (registered in kefu.channels.factory)."""
    return TelegramAdapter(settings)
