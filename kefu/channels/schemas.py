"""Pydantic shapes of the official-channels API (input is strict: unknown fields are refused)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final

from babel import Locale
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kefu.channels.links import channel_display, channel_url
from kefu.channels.models import OfficialChannel, OfficialKind
from kefu.channels.normalize import MAX_INPUT_LENGTH, normalise_value, phone_region

LABEL_MAX: Final = 100
POSITION_MAX: Final = 10_000

# Codes Babel names that are groupings or placeholders rather than places with phone lines.
_NOT_PLACES: Final = frozenset({"ZZ", "EU", "EZ", "UN", "QO"})

Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=LABEL_MAX)]


@cache
def known_regions() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes Babel can name (numeric UN regions like "001" are not places to call)."""
    codes = (str(code) for code in Locale.parse("en").territories)
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha() and code not in _NOT_PLACES)


def _single_line(value: Any) -> Any:
    """Labels are one line of visible text: control and format characters (CR/LF, NUL, bidi) refused."""
    if isinstance(value, str) and any(
        unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in value
    ):
        raise ValueError("line breaks and control characters are not allowed")
    return value


class ChannelIn(BaseModel):
    """A new official channel; `value` is replaced by its canonical form for `kind`."""

    model_config = ConfigDict(extra="forbid")

    kind: OfficialKind
    value: Annotated[str, StringConstraints(max_length=MAX_INPUT_LENGTH)]
    label: Label = ""
    label_zh: Label | None = None
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    team_id: uuid.UUID | None = None
    published_on_contact_page: bool = True
    position: int = Field(default=0, ge=0, le=POSITION_MAX)

    _labels = field_validator("label", "label_zh", mode="before")(_single_line)

    @field_validator("value")
    @classmethod
    def _canonical(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind is None:
            return value  # the kind's own error is reported instead
        return normalise_value(OfficialKind(kind), value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if not value:
            return None
        code = value.upper()
        if code not in known_regions():
            raise ValueError("use an ISO 3166 region code such as SG, HK or GB")
        return code

    @field_validator("label_zh")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _phone_region(self) -> ChannelIn:
        if self.kind == OfficialKind.PHONE and self.region is None:
            self.region = phone_region(self.value)
        return self


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: OfficialKind
    value: str
    label: str
    label_zh: str | None
    region: str | None
    team_id: uuid.UUID | None
    published_on_contact_page: bool
    position: int
    # How people see and reach it: "@kefusupport" and "https://t.me/kefusupport".
    display: str
    url: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, channel: OfficialChannel) -> ChannelOut:
        """The API representation of a stored channel."""
        kind = OfficialKind(channel.kind)
        return cls(
            id=channel.id,
            kind=kind,
            value=channel.value,
            label=channel.label,
            label_zh=channel.label_zh,
            region=channel.region,
            team_id=channel.team_id,
            published_on_contact_page=channel.published_on_contact_page,
            position=channel.position,
            display=channel_display(kind, channel.value),
            url=channel_url(kind, channel.value),
            created_at=channel.created_at,
            updated_at=channel.updated_at,
        )
