"""What the recovery form and the reviewer's decision accept."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from kefu.recovery.models import RecoveryReason
from kefu.recovery.reasons import TEMPLATES, Decision

DESCRIPTION_MAX: Final = 5000
NOTE_MAX: Final = 2000
UID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
_PHONE_NOISE: Final = re.compile(r"[\s().-]")
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")


def _no_controls(value: str) -> str:
    # Line breaks are fine in free text; other control characters have no business in it.
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value) or "\x7f" in value:
        raise ValueError("contains control characters")
    return value


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecoverySubmission(_Input):
    """The help-center form's fields (the documents travel separately)."""

    email: EmailStr
    exchange_uid: Annotated[str, StringConstraints(strip_whitespace=True, pattern=UID_PATTERN)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    reason: RecoveryReason
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX)] = ""
    locale: Annotated[str, StringConstraints(pattern=r"^(en|zh-CN)$")] = "en"
    consent: bool

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        compact = _PHONE_NOISE.sub("", value)
        if compact.startswith("00"):
            compact = "+" + compact[2:]
        if not _E164.fullmatch(compact):
            raise ValueError("write the number with + and the country code, e.g. +6591234567")
        return compact

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        return _no_controls(value)

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError("consent is required")
        return value


class DecisionIn(_Input):
    """A reviewer's decision: approve (unlock) or reject, with a reason template and an internal note."""

    decision: Decision
    template: Annotated[str, StringConstraints(max_length=50)]
    # The exchange account to unlock; defaults to the UID the customer gave.
    uid: Annotated[str, StringConstraints(strip_whitespace=True, pattern=UID_PATTERN)] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=NOTE_MAX)] = ""

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        return _no_controls(value)

    @field_validator("template")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in TEMPLATES:
            raise ValueError("unknown reason template")
        return value

    @model_validator(mode="after")
    def _fits(self) -> DecisionIn:
        if TEMPLATES[self.template].decision != self.decision:
            raise ValueError("this reason template belongs to the other decision")
        return self
