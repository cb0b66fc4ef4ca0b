"""Update objects as the Bot API documents them (https://core.telegram.org/bots/api#update)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

USER_ID = 777000


def sender(**changes: Any) -> dict[str, Any]:
    return {
        "id": USER_ID,
        "is_bot": False,
        "first_name": "Wei",
        "last_name": "Wang",
        "username": "wangwei",
        "language_code": "zh-hans",
    } | changes


def private_chat(**changes: Any) -> dict[str, Any]:
    return {
        "id": USER_ID,
        "first_name": "Wei",
        "last_name": "Wang",
        "username": "wangwei",
        "type": "private",
    } | changes


def message_update(update_id: int, **message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 10 + update_id,
        "from": sender(),
        "chat": private_chat(),
        "date": 1700000000,
    }
    return {"update_id": update_id, "message": base | message}


def text_update(update_id: int, text: str, **message: Any) -> dict[str, Any]:
    return message_update(update_id, text=text, **message)


def start_update(update_id: int, language: str = "zh-hans") -> dict[str, Any]:
    return message_update(
        update_id,
        text="/start",
        entities=[{"offset": 0, "length": 6, "type": "bot_command"}],
        **{"from": sender(language_code=language)},
    )


def photo_update(
    update_id: int, caption: str | None = "充值截图", file_size: int | None = 2000
) -> dict[str, Any]:
    sizes = [
        {"file_id": "AgACsmall", "file_unique_id": "AQADs", "file_size": 900, "width": 90, "height": 60},
        {"file_id": "AgAClarge", "file_unique_id": "AQADl", "width": 1280, "height": 853}
        | ({"file_size": file_size} if file_size is not None else {}),
        {"file_id": "AgACmid", "file_unique_id": "AQADm", "file_size": 1500, "width": 320, "height": 213},
    ]
    extra: dict[str, Any] = {"caption": caption} if caption is not None else {}
    return message_update(update_id, photo=sizes, **extra)


def document_update(
    update_id: int, name: str = "statement.pdf", mime: str = "application/pdf"
) -> dict[str, Any]:
    document = {
        "file_name": name,
        "mime_type": mime,
        "file_id": "BQACdoc",
        "file_unique_id": "AgADdoc",
        "file_size": 14,
    }
    return message_update(update_id, document=document)


def group_update(update_id: int) -> dict[str, Any]:
    chat = {"id": -1001234567890, "title": "Traders", "type": "supergroup"}
    return message_update(update_id, text="hello group", chat=chat)


def png() -> bytes:
    """A small real PNG (64x48) for photos the stand-in serves."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buffer, "PNG")
    return buffer.getvalue()
