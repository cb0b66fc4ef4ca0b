"""Reading browser form posts defensively, and choosing where to go after signing in.

Forms are parsed here rather than by FastAPI's `Form()` so that every malformed post (too big, wrong
type, broken encoding, duplicate fields) becomes a 4xx page instead of a JSON error or a 500.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request

# Our forms carry a few short fields; a password is at most 1 KiB.
MAX_FORM_BYTES: Final = 16 * 1024
MAX_FORM_FIELDS: Final = 16
MAX_NEXT_LENGTH: Final = 2048
CSRF_FIELD: Final = "csrf_token"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
# Printable ASCII only: no spaces, tabs or newlines (browsers drop them, so "/\t/evil" is "//evil"),
# and nothing a Location header cannot carry.
_LOCAL_PATH_RE: Final = re.compile(r"/[!-~]*")


class PageErrorReason(StrEnum):
    CSRF = "csrf"
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"
    MALFORMED = "malformed"


class PageError(Exception):
    """A request no page can answer; rendered as an error page (see kefu.web.pages.page)."""

    def __init__(self, status: int, reason: PageErrorReason) -> None:
        super().__init__(reason.value)
        self.status = status
        self.reason = reason


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded post; raises PageError (400/413/415) for anything else."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE and not (content_type == "" and _declares_no_body(request)):
        raise PageError(415, PageErrorReason.UNSUPPORTED)
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        raise PageError(400, PageErrorReason.MALFORMED)
    if declared is not None and int(declared) > MAX_FORM_BYTES:
        raise PageError(413, PageErrorReason.TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, PageErrorReason.TOO_LARGE)
    try:
        pairs = parse_qsl(
            bytes(body).decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError as exc:  # includes UnicodeDecodeError and too many fields
        raise PageError(400, PageErrorReason.MALFORMED) from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:  # which copy would count is ambiguous: refuse rather than guess
            raise PageError(400, PageErrorReason.MALFORMED)
        fields[name] = value
    return fields


def _declares_no_body(request: Request) -> bool:
    # An empty post (a form with no fields) may come without a content type; it is an empty form.
    return request.headers.get("content-length") == "0" and "transfer-encoding" not in request.headers


def has_controls(text: str) -> bool:
    """True if `text` contains control characters (NUL, CR, LF, …)."""
    return any(unicodedata.category(c) == "Cc" for c in text)


def shown_text(text: str, max_length: int) -> str:
    """`text` as safe to echo back into a form field: controls removed, cut to `max_length`."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")[:max_length]


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None: never another origin or scheme.

    Refuses "//evil", "/\\evil", "https:evil", "javascript:…", absolute URLs, and anything with
    whitespace, controls or non-ASCII characters.
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not _LOCAL_PATH_RE.fullmatch(value):
        return None
    if value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def with_next(path: str, next_url: str | None) -> str:
    """`path` carrying the (already safe) `next` target along, if any."""
    return f"{path}?{urlencode({'next': next_url})}" if next_url else path
