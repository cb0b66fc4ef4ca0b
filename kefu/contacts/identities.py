"""Normalising identity values so one person's handle always maps to the same row."""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from kefu.contacts.models import IdentityKind
from kefu.core.errors import InvalidInput

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_NUMERIC_ID = re.compile(r"^\d{1,32}$")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@lru_cache(maxsize=4096)
def normalise_email(value: str) -> str:
    """A syntactically valid, lower-cased address (IDN domains in ASCII); raises InvalidInput."""
    if "\r" in value or "\n" in value or len(value) > 320:
        raise InvalidInput("not a valid email address", fields={"email": "not a valid email address"})
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput("not a valid email address", fields={"email": str(exc)}) from None
    return f"{result.local_part}@{result.ascii_domain}".lower()


def normalise_identity(kind: IdentityKind, value: str) -> str:
    """The canonical form of `value` for `kind`; raises InvalidInput when it cannot be one."""
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return normalise_email(value)
    if kind == IdentityKind.PHONE:
        compact = re.sub(r"[\s().-]", "", value)
        if not _E164.match(compact):
            raise InvalidInput("phone numbers are written in E.164 form, e.g. +6591234567")
        return compact
    if kind in (IdentityKind.TELEGRAM, IdentityKind.MESSENGER, IdentityKind.X):
        if not _NUMERIC_ID.match(value):
            raise InvalidInput(f"a {kind} identity is the platform's numeric user id")
        return value
    if not _UID.match(value):
        raise InvalidInput(f"not a valid {kind} identity")
    return value
