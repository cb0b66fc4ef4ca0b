"""`GET /verify?value=…` (mounted under /api/v1): anyone checks whether a link, address, number or account
is one of our official channels. Messages follow the request's Accept-Language (en or zh-CN)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from kefu.channels.verify import MAX_VALUE_LENGTH, Verdict, has_control_characters, verify
from kefu.core.errors import InvalidInput
from kefu.i18n import Translator, get_translator, negotiate_locale
from kefu.web.deps import DbSession
from kefu.web.verify_words import entry_label, reason_texts

router = APIRouter(tags=["verify"])


class MatchedOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    value: str  # canonical, as registered
    label: str  # in the answer's language


class ReasonOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str


class VerifyOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["official", "not_official", "impersonation"]
    # domain, email, phone, telegram, x, facebook, handle (an @name on no particular platform), or null
    kind: str | None
    matched: MatchedOut | None
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, verdict: Verdict, t: Translator) -> VerifyOut:
        """The API answer for `verdict`, worded in `t`'s language."""
        matched = verdict.matched
        return cls(
            verdict=verdict.verdict.value,
            kind=verdict.kind,
            matched=MatchedOut(kind=matched.kind.value, value=matched.value, label=entry_label(t, matched))
            if matched
            else None,
            reasons=[ReasonOut(code=r.code, message=r.message) for r in reason_texts(t, verdict)],
        )


def check_value(value: str) -> str:
    """The value to check; InvalidInput (422) when blank or holding control characters."""
    if not value.strip():
        raise InvalidInput("the request is not valid", fields={"value": "enter a value to check"})
    if has_control_characters(value):
        raise InvalidInput(
            "the request is not valid", fields={"value": "line breaks and control characters are not allowed"}
        )
    return value


@router.get("/verify", response_model=VerifyOut)
async def verify_value(
    request: Request,
    response: Response,
    session: DbSession,
    value: Annotated[str, Query(max_length=MAX_VALUE_LENGTH)],
) -> VerifyOut:
    """Anyone: `official`, `not_official` or `impersonation` for `value`, with the entry and reasons."""
    locale = negotiate_locale(
        explicit=None, cookie=None, accept_language=request.headers.get("accept-language")
    )
    verdict = await verify(session, check_value(value))
    # Answers follow the registry and the reader's language; what people paste is nobody's cache.
    response.headers["cache-control"] = "no-store"
    response.headers["content-language"] = locale
    response.headers["vary"] = "Accept-Language"
    return VerifyOut.of(verdict, get_translator(locale))
