"""Telegram `Update` objects (https://core.telegram.org/bots/api#update) turned into what Kefu handles.

Only private chats with people are support conversations: groups, channels, other bots and every
update kind but `message` are ignored (edits are ignored too: the agent already has the original, and
Kefu asks Telegram for `message` updates only). A photo arrives in several sizes; the largest is kept.
The parser never raises anything but `MalformedUpdate`, whatever the JSON holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from kefu.i18n import normalise_locale

MAX_ID_CHARS: Final = 256
MAX_TEXT_CHARS: Final = 20_000
# Commands that greet instead of opening a conversation ("/start", "/start@kefu_bot", "/start payload").
GREETING_COMMANDS: Final = frozenset({"/start", "/help"})
# Message kinds a customer can send that Kefu cannot show: the agent is told what arrived.
UNSUPPORTED_KINDS: Final = (
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "story",
)


class MalformedUpdate(ValueError):
    """The body is not a Telegram update as documented."""


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file Telegram holds for us; fetched with getFile."""

    file_id: str
    unique_id: str
    filename: str
    content_type: str | None
    size: int | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A customer's message in a private chat (chat id = user id)."""

    update_id: int
    sender_id: str
    sender_name: str
    locale: str | None
    text: str
    files: tuple[FileRef, ...] = ()
    facts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Greeting:
    """The customer pressed Start (or sent /help): they get the greeting, no conversation opens."""

    update_id: int
    chat_id: str
    locale: str


@dataclass(frozen=True, slots=True)
class Ignored:
    update_id: int
    reason: str


Parsed = Incoming | Greeting | Ignored


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} is not an integer")
    return value


def _str(value: object, what: str, *, limit: int = MAX_ID_CHARS, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise MalformedUpdate(f"{what} is not a string")
    return value[:limit]


def _dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{what} is not an object")
    return value


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable()).strip()


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _photo(sizes: object) -> FileRef:
    if not isinstance(sizes, list) or not sizes:
        raise MalformedUpdate("photo is not a list of sizes")
    parsed = []
    for item in sizes[:20]:
        size = _dict(item, "photo size")
        area = _int(size.get("width"), "photo width") * _int(size.get("height"), "photo height")
        parsed.append((area, size))
    _, largest = max(parsed, key=lambda pair: pair[0])
    unique = _str(largest.get("file_unique_id"), "file_unique_id")
    return FileRef(
        file_id=_str(largest.get("file_id"), "file_id"),
        unique_id=unique,
        filename=f"photo_{_printable(unique)[:40] or 'telegram'}.jpg",
        content_type="image/jpeg",
        size=_size(largest.get("file_size")),
    )


def _document(value: object) -> FileRef:
    document = _dict(value, "document")
    unique = _str(document.get("file_unique_id"), "file_unique_id")
    name = _printable(_str(document.get("file_name"), "file_name", optional=True))
    mime = _str(document.get("mime_type"), "mime_type", limit=100, optional=True)
    return FileRef(
        file_id=_str(document.get("file_id"), "file_id"),
        unique_id=unique,
        filename=name or f"document_{_printable(unique)[:40] or 'telegram'}",
        content_type=mime or None,
        size=_size(document.get("file_size")),
    )


def _name(sender: dict[str, Any]) -> str:
    first = _str(sender.get("first_name"), "first_name", limit=200, optional=True)
    last = _str(sender.get("last_name"), "last_name", limit=200, optional=True)
    return _printable(f"{first} {last}")[:200]


def parse_update(payload: object) -> Parsed:
    """What `payload` (a decoded Update) asks of Kefu; MalformedUpdate when it is not one."""
    update = _dict(payload, "the update")
    update_id = _int(update.get("update_id"), "update_id")
    if update_id < 0:
        raise MalformedUpdate("update_id is negative")
    if "message" not in update:
        kind = next((key for key in update if key != "update_id"), "nothing")
        return Ignored(update_id, f"{kind[:40]} updates are not handled")
    message = _dict(update["message"], "message")
    chat = _dict(message.get("chat"), "chat")
    chat_id = _int(chat.get("id"), "chat.id")
    if chat.get("type") != "private":
        return Ignored(update_id, "not a private chat")
    if "from" not in message:
        return Ignored(update_id, "no sender")
    sender = _dict(message["from"], "from")
    sender_id = _int(sender.get("id"), "from.id")
    if sender.get("is_bot") is True:
        return Ignored(update_id, "sent by a bot")
    if sender_id != chat_id:
        return Ignored(update_id, "sender is not the chat's user")
    language = sender.get("language_code")
    locale = normalise_locale(language) if isinstance(language, str) else None
    text = _str(message.get("text"), "text", limit=MAX_TEXT_CHARS, optional=True)
    words = text.split(maxsplit=1)
    if words and words[0].split("@", 1)[0].lower() in GREETING_COMMANDS:
        return Greeting(update_id, str(chat_id), locale or "en")
    caption = _str(message.get("caption"), "caption", limit=MAX_TEXT_CHARS, optional=True)
    files: tuple[FileRef, ...] = ()
    if "photo" in message:
        files = (_photo(message["photo"]),)
    elif "document" in message:
        files = (_document(message["document"]),)
    facts: dict[str, object] = {"message_id": _int(message.get("message_id"), "message_id")}
    username = sender.get("username")
    if isinstance(username, str) and username:
        facts["username"] = _printable(username)[:64]
    body = text or caption
    if not body and not files:
        unsupported = next((k for k in UNSUPPORTED_KINDS if k in message), None)
        if unsupported is None:
            return Ignored(update_id, "no text, photo or document")
        facts["unsupported"] = unsupported
        body = f"[Telegram {unsupported.replace('_', ' ')}: not supported on this channel]"
    return Incoming(
        update_id=update_id,
        sender_id=str(sender_id),
        sender_name=_name(sender),
        locale=locale,
        text=body,
        files=files,
        facts=facts,
    )
