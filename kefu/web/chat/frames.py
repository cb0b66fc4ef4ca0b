"""Client frames of the chat socket (docs/chat-protocol.md), validated before anything acts on them."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from kefu.chat.service import MAX_BODY_CHARS
from kefu.chat.uploads import MAX_FILES_PER_MESSAGE

MAX_FRAME_BYTES: Final = 16 * 1024
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class ProtocolError(Exception):
    """The client sent something we cannot use; answered with an error frame."""

    def __init__(
        self, code: str, message: str, *, client_id: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.client_id = client_id
        self.retry_after_ms = retry_after_ms


CLOSE_PROTOCOL: Final = 4400
CLOSE_SLOW: Final = 4408
CLOSE_RATE: Final = 4429
CLOSE_INTERNAL: Final = 1011


class Closed(Exception):
    """End the connection with this close code."""

    def __init__(self, code: int) -> None:
        self.code = code


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
    body: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_BODY_CHARS)] = ""
    # Upload tokens from POST /chat/uploads (screenshots).
    files: list[Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=list, max_length=MAX_FILES_PER_MESSAGE
    )

    @model_validator(mode="after")
    def _says_something(self) -> Post:
        if not self.body and not self.files:
            raise ValueError("a message needs text or a file")
        return self


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


class LeaveEmail(_Frame):
    type: Literal["email"]
    email: str = Field(min_length=3, max_length=320)


class Transcript(_Frame):
    type: Literal["transcript"]


class Rate(_Frame):
    type: Literal["rate"]
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class Diagnostics(_Frame):
    """Sent only after the customer agreed to share them (the widget asks)."""

    type: Literal["diagnostics"]
    browser: ShortText = ""
    os: ShortText = ""
    page_url: str = Field(default="", max_length=2000, pattern=r"^(https?://\S*)?$")
    clock_offset_ms: int | None = Field(default=None, ge=-86_400_000, le=86_400_000)
    rtt_ms: int | None = Field(default=None, ge=0, le=120_000)
    time_zone: ShortText = ""
    language: Annotated[str, StringConstraints(max_length=35)] = ""


class VerifyIdentity(_Frame):
    """The one-time code support emailed to the customer (kefu.trust.identity)."""

    type: Literal["verify_identity"]
    code: str = Field(min_length=1, max_length=64)


class FreezeAccount(_Frame):
    """Freeze the customer's exchange account; the conversation must be identity-verified."""

    type: Literal["freeze_account"]


class SetAntiPhishingCode(_Frame):
    """Identified customers set (or with null, remove) the code shown in support's emails and chat."""

    type: Literal["anti_phishing_code"]
    code: str | None = Field(default=None, max_length=200)


class Ping(_Frame):
    type: Literal["ping"]
    t: float | None = None


_KINDS: Final[dict[str, type[_Frame]]] = {
    "hello": Hello,
    "message": Post,
    "typing": Typing,
    "read": Read,
    "choice": Choice,
    "ping": Ping,
    "email": LeaveEmail,
    "transcript": Transcript,
    "rate": Rate,
    "diagnostics": Diagnostics,
    "verify_identity": VerifyIdentity,
    "freeze_account": FreezeAccount,
    "anti_phishing_code": SetAntiPhishingCode,
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
