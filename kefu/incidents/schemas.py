"""Validated input for incident actions (staff-facing: plain English errors)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kefu.i18n import SUPPORTED_LOCALES
from kefu.incidents.components import MAX_COMPONENTS, parse_component
from kefu.incidents.states import IncidentKind, IncidentStatus, Severity

TITLE_MAX: Final = 200
BODY_MAX: Final = 5000


# Control characters break XML (the Atom feed) and PostgreSQL JSON (NUL): they never get stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def _texts(limit: int, *, required: bool, single_line: bool = False) -> AfterValidator:
    def check(value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for locale, raw in value.items():
            if locale not in SUPPORTED_LOCALES:
                raise ValueError(f"languages are {', '.join(SUPPORTED_LOCALES)}")
            text = _CONTROL.sub("", raw)
            text = (_LINE_BREAKS.sub(" ", text) if single_line else text).strip()
            if len(text) > limit:
                raise ValueError(f"at most {limit} characters")
            if text:
                cleaned[locale] = text
        if required and not cleaned:
            raise ValueError("write it in at least one language")
        return cleaned

    return AfterValidator(check)


def _components(value: list[str]) -> list[str]:
    for key in value:
        parse_component(key)  # ValueError names the bad key
    return list(dict.fromkeys(value))


Title = Annotated[
    dict[str, str],
    Field(max_length=len(SUPPORTED_LOCALES)),
    _texts(TITLE_MAX, required=True, single_line=True),
]
Body = Annotated[dict[str, str], Field(max_length=len(SUPPORTED_LOCALES)), _texts(BODY_MAX, required=False)]
Components = Annotated[
    list[Annotated[str, Field(max_length=60)]],
    Field(min_length=1, max_length=MAX_COMPONENTS),
    AfterValidator(_components),
]


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IncidentKind = IncidentKind.INCIDENT
    title: Title
    # Incidents: minor/major/critical (default minor); maintenance always has severity "maintenance".
    severity: Severity | None = None
    components: Components
    # Maintenance only: when the work is due to start (required for maintenance).
    starts_at: datetime | None = None
    # The first timed update shown on the status page (optional).
    body: Body = Field(default_factory=dict)


class UpdateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus
    body: Body = Field(default_factory=dict)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Body = Field(default_factory=dict)
