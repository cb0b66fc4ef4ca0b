"""How a canonical channel value is shown to people and where a link to it goes."""

from __future__ import annotations

from urllib.parse import quote

import phonenumbers

from kefu.channels.models import OfficialKind


def channel_display(kind: OfficialKind, value: str) -> str:
    """What a reader sees: "@kefusupport", "+65 6123 4567", "support@kefu.example", "kefu.example"."""
    if kind in (OfficialKind.TELEGRAM, OfficialKind.X):
        return f"@{value}"
    if kind == OfficialKind.FACEBOOK:
        return f"facebook.com/{value}"
    if kind == OfficialKind.PHONE:
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return value


def channel_url(kind: OfficialKind, value: str) -> str:
    """Where a link to the channel goes (https, mailto: or tel:); values are canonical, so safe in URLs."""
    if kind == OfficialKind.DOMAIN:
        return f"https://{value}/"
    if kind == OfficialKind.EMAIL:
        # Local parts may hold "?", "&" or "%": quoted, they cannot add headers to the mail link.
        return "mailto:" + quote(value, safe="@")
    if kind == OfficialKind.PHONE:
        return f"tel:{value}"
    if kind == OfficialKind.TELEGRAM:
        return f"https://t.me/{value}"
    if kind == OfficialKind.X:
        return f"https://x.com/{value}"
    return f"https://www.facebook.com/{value}"
