"""Screenshots in chat: stored first over HTTP, then named in a message by a signed upload token.

The token (itsdangerous, a day long) carries the stored file's facts and the visitor it was issued
to, so no table of pending uploads is needed and nobody can attach a file another visitor uploaded.
Attachments shown in the chat get a signed download URL of their own, valid for a day, because an
<img> cannot send the visitor token.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

from kefu.storage.uploads import StoredFile

UPLOAD_MAX_AGE: Final = timedelta(days=1)
FILE_URL_MAX_AGE: Final = timedelta(days=1)
MAX_FILES_PER_MESSAGE: Final = 5
# Screenshots and photos of documents; a chat is no place for archives or videos.
CHAT_UPLOAD_MAX_BYTES: Final = 10 * 1024 * 1024


def sign_upload(secret: str, visitor_id: uuid.UUID, stored: StoredFile) -> str:
    """A token naming `stored` for `visitor_id`."""
    payload = {
        "v": visitor_id.hex,
        "k": stored.key,
        "s": stored.size,
        "t": stored.content_type,
        "n": stored.filename,
        "i": stored.is_image,
        "w": stored.width,
        "h": stored.height,
    }
    return str(URLSafeTimedSerializer(secret, salt="kefu.chat.upload").dumps(payload))


def read_upload(secret: str, visitor_id: uuid.UUID, token: str) -> StoredFile | None:
    """The stored file a token of this visitor names; None if forged, expired or someone else's."""
    try:
        payload = URLSafeTimedSerializer(secret, salt="kefu.chat.upload").loads(
            token, max_age=int(UPLOAD_MAX_AGE.total_seconds())
        )
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("v") != visitor_id.hex:
        return None
    try:
        return StoredFile(
            key=str(payload["k"]),
            size=int(payload["s"]),
            content_type=str(payload["t"]),
            filename=str(payload["n"]),
            is_image=bool(payload["i"]),
            width=payload["w"] if isinstance(payload["w"], int) else None,
            height=payload["h"] if isinstance(payload["h"], int) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def sign_file_url(secret: str, attachment_id: uuid.UUID) -> str:
    """The signature of an attachment's chat download URL."""
    return str(URLSafeTimedSerializer(secret, salt="kefu.chat.file").dumps(attachment_id.hex))


def read_file_signature(secret: str, signature: str) -> uuid.UUID | None:
    """The attachment a download signature names, if it is ours and fresh."""
    try:
        value = URLSafeTimedSerializer(secret, salt="kefu.chat.file").loads(
            signature, max_age=int(FILE_URL_MAX_AGE.total_seconds())
        )
        return uuid.UUID(hex=str(value))
    except (BadSignature, ValueError):
        return None
