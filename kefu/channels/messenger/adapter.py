"""The Messenger channel adapter: agents' replies through the Send API, customers' files fetched.

An inbox needs three credentials: `page_access_token` (the Page's token, for the Send API),
`app_secret` (checks X-Hub-Signature-256 on deliveries) and `verify_token` (any string you choose, given
to Meta for the webhook handshake). Its address is the Page id (or the Instagram account id); deliveries
for other pages of the same app are ignored. See docs/channels/messenger.md.

Meta allows a standard reply only within 24 hours of the customer's last message. Kefu does not guess
the window: the Send API answers error 10 / 2018278 (Instagram: 2534022) outside it, which becomes
DeliveryRefused("outside_24h_window") — the reply is held on the timeline and the agent is told.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from kefu.channels.adapter import ChannelFile, ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.channels.messenger.events import AttachmentRef
from kefu.channels.messenger.graph import DownloadRefused, GraphApi
from kefu.channels.sending import SentParts
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings

REQUIRED_SECRETS: Final = ("page_access_token", "app_secret", "verify_token")
# The Send API's limits: 2000 characters of text, 25 MB per attachment.
MAX_TEXT: Final = 2000
MAX_ATTACHMENT_BYTES: Final = 25 * 1024 * 1024
_NAME_RE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS: Final = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "application/pdf": ".pdf",
}


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


def attachment_type(content_type: str | None) -> str:
    """The Send API's attachment type for a MIME type."""
    major = (content_type or "").split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "file"


def attachment_filename(ref: AttachmentRef, index: int, content_type: str | None) -> str:
    """A name for a customer's file: the URL's last segment when it looks like a file name."""
    path = urlsplit(ref.url or "").path
    name = _NAME_RE.sub("_", unquote(path.rsplit("/", 1)[-1]))[-100:].strip("._")
    if "." in name:
        return name
    extension = _EXTENSIONS.get((content_type or "").split(";", 1)[0].strip().lower(), "")
    return f"{ref.type}-{index + 1}{extension}"


class MessengerAdapter:
    """Sends agents' replies (text, then each file) to a PSID or IGSID; fetches customers' files."""

    channel = ChannelKind.MESSENGER

    def __init__(self, settings: Settings, *, api: GraphApi | None = None) -> None:
        self.settings = settings
        self.api = api or GraphApi(settings.meta_graph_url)
        self._sent = SentParts()

    async def send(
        self, inbox: ChannelInbox, recipient: str, message: OutboundMessage, *, idempotency_key: str
    ) -> Delivered:
        """Text first (split at 2000 characters), then each file; a retry skips the parts already sent."""
        if (finished := self._sent.finished(idempotency_key)) is not None:
            return finished
        token = inbox.secrets.get("page_access_token", "")
        if not token:
            raise DeliveryRefused("not_configured", "the inbox has no page access token")
        for outgoing in message.files:
            if len(outgoing.data) > MAX_ATTACHMENT_BYTES:
                raise DeliveryRefused("file_too_large", f"{outgoing.filename} is over Meta's 25 MB limit")
        parts: list[tuple[str, ChannelFile | None]] = [(piece, None) for piece in split_text(message.text)]
        parts += [("", outgoing) for outgoing in message.files]
        if not parts:
            raise DeliveryRefused("empty", "nothing to send")
        sent = self._sent.begin(idempotency_key)
        for text, file in parts[len(sent) :]:
            body: dict[str, Any] = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE"}
            if file is None:
                answer = await self.api.send(token, body | {"message": {"text": text}})
            else:
                kind = attachment_type(file.content_type)
                body["message"] = {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
                upload = (file.filename, file.data, file.content_type or "application/octet-stream")
                answer = await self.api.send(token, body, file=upload)
            sent.append(str(answer["message_id"]))
        return self._sent.finish(idempotency_key, sent)

    async def fetch_attachment(self, ref: AttachmentRef, index: int) -> ChannelFile:
        """A customer's file; DownloadRefused when it is over upload_max_bytes, not Meta's, or failed."""
        if ref.url is None:
            raise DownloadRefused("not_allowed", f"a {ref.type} attachment has no file")
        data, content_type = await self.api.download(ref.url, max_bytes=self.settings.upload_max_bytes)
        return ChannelFile(data, attachment_filename(ref, index, content_type), content_type)

    async def configure(self, inbox: ChannelInbox) -> None:
        """Checks the credentials are there; subscribing the Page to the app is done at Meta (see docs)."""
        missing = [key for key in REQUIRED_SECRETS if not inbox.secrets.get(key)]
        if missing:
            raise InvalidInput(f"a Messenger inbox needs the credentials: {', '.join(missing)}")

    async def aclose(self) -> None:
        """Close the Graph API connection pool."""
        await self.api.aclose()


def build(settings: Settings) -> MessengerAdapter:
    """The Messenger adapter of this process (registered in kefu.channels.factory)."""
    return MessengerAdapter(settings)
