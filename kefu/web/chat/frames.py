"""Client frames of the chat socket (docs/chat-protocol.md), validated before anything acts on them."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from kefu.chat.service import MAX_BODY_CHARS

MAX_FRAME_BYTES: Final = 16 * 1024
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class ProtocolError(Exception):
    """The client sent something we cannot use; answered with an error frame."""

    def __init__(self, code: str, message: str, *, client_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.client_id = client_id


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hello(_Frame):
    type: Literal["hello"]
    v: Literal[1] = 1
    visitor: str | None = Field(default=None, max_length=200)
    identity: dict[str, Any] | None = None
    locale: str | None = Field(default=None, max_length=10)
    conversation_id: uuid.UUID | None = None
    after: int | None = Field(default=None, ge=0, le=2**31)


class Post(_Frame):
    type: Literal["message"]
    client_id: ClientId
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BODY_CHARS)]


class Typing(_Frame):
    type: Literal["typing"]
    state: Literal["typing", "idle"]


class Read(_Frame):
    type: Literal["read"]
    seq: int = Field(ge=1, le=2**31)


class Choice(_Frame):
    type: Literal["choice"]
    seq: int = Field(ge=1, le=2**31)
    choice: str = Field(pattern=r"^[a-z0-9_:-]{1,40}$")


class Ping(_Frame):
    type: Literal["ping"]
    t: float | None = None


ClientFrame = Post | Typing | Read | Choice | Ping
_KINDS: Final[dict[str, type[_Frame]]] = {
    "hello": Hello,
    "message": Post,
    "typing": Typing,
    "read": Read,
    "choice": Choice,
    "ping": Ping,
}


def parse_frame(raw: str) -> _Frame:
    """One client frame, or ProtocolError with the code the client is told."""
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"frames are at most {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ProtocolError("malformed", "frames are JSON objects with a type") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("malformed", "frames are JSON objects with a type")
    model = _KINDS.get(data["type"])
    if model is None:
        raise ProtocolError("unknown_type", "unknown frame type")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = ", ".join(".".join(str(p) for p in error["loc"]) or "frame" for error in exc.errors()[:3])
        client_id = data.get("client_id") if isinstance(data.get("client_id"), str) else None
        raise ProtocolError(
            "invalid", f"invalid {data['type']} frame: {where}", client_id=(client_id or "")[:64] or None
        ) from None
