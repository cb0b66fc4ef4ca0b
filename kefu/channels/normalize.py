"""Canonical forms of official channel values, one rule per kind. Pure: no database, no network.

The registry and everything that checks against it (the verify page, lookalike detection) compare
canonical values only, so each kind has exactly one spelling:

* domain: lower-case ASCII (IDNA punycode, UTS #46 mapping), no scheme, port, path or trailing dot;
* email: lower-case, the domain part as above;
* phone: E.164 (`phonenumbers`), a valid number with its country code;
* telegram / x / facebook: the lower-case handle, from `@name`, `name` or a profile URL.

Unicode lookalikes are not refused here: an IDN is stored in its punycode form, which is exactly what
makes a confusable visible to the people and code that compare against it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from kefu.channels.models import OfficialKind

# Longer than any real value of any kind; anything beyond is refused before parsing.
MAX_INPUT_LENGTH: Final = 500
MAX_DOMAIN_LENGTH: Final = 253
MAX_EMAIL_LENGTH: Final = 254
# email_validator refuses special-use names; demo content lives under ".localhost" (DESIGN.md) and
# tests under ".test", so both are checked as ".test" in its test mode.
_LOCALHOST: Final = ".localhost"
_TEST: Final = ".test"
_PROBE_LOCAL_PART: Final = "postmaster@"


class InvalidChannelValue(ValueError):
    """The value cannot be a canonical value of its kind (the message says why, in English)."""


def _clean(raw: object) -> str:
    """`raw` as a stripped string with no control or format characters (CR/LF, NUL, bidi overrides)."""
    if not isinstance(raw, str):
        raise InvalidChannelValue("the value must be a string")
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidChannelValue(f"at most {MAX_INPUT_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in raw):
        raise InvalidChannelValue("line breaks and control characters are not allowed")
    text = raw.strip()
    if not text:
        raise InvalidChannelValue("the value is empty")
    return text


def _ascii_domain(host: str) -> str:
    """The lower-case ASCII form of a host name (IDNA with UTS #46 mapping); InvalidChannelValue otherwise."""
    host = host.rstrip(".")
    if not host or host.startswith("*"):
        raise InvalidChannelValue("not a domain name")
    demo = host.lower().endswith(_LOCALHOST)
    checked = host[: -len(_LOCALHOST)] + _TEST if demo else host
    try:
        result = validate_email(
            _PROBE_LOCAL_PART + checked, check_deliverability=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise InvalidChannelValue(f"not a valid domain name: {str(exc)[:200]}") from None
    ascii_domain = result.ascii_domain.lower()
    if demo:
        ascii_domain = ascii_domain.removesuffix(_TEST) + _LOCALHOST
    if len(ascii_domain) > MAX_DOMAIN_LENGTH:
        raise InvalidChannelValue("the domain name is too long")
    return ascii_domain


def normalise_domain(raw: object) -> str:
    """The canonical domain of `raw` ("https://Www.Kéfu.example/x?y" → "www.xn--kfu-bma.example")."""
    text = _clean(raw)
    if "://" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidChannelValue("not a domain name") from None
    del port  # a port is dropped: the registry is about names
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        raise InvalidChannelValue("only http and https addresses name a domain")
    if parts.username is not None or parts.password is not None:
        raise InvalidChannelValue("a domain has no user part (the part before '@' hides the real host)")
    host = parts.netloc.rpartition(":")[0] if parts.port is not None else parts.netloc
    if host.startswith("["):
        raise InvalidChannelValue("an IP address is not a domain name")
    return _ascii_domain(host)


def normalise_email(raw: object) -> str:
    """The canonical address of `raw` ("mailto:Support@Kéfu.example" → "support@xn--kfu-bma.example")."""
    text = _clean(raw)
    if text[:7].lower() == "mailto:":
        text = text[7:]
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidChannelValue("an email address needs a local part, '@' and a domain")
    demo = domain.lower().rstrip(".").endswith(_LOCALHOST)
    checked = f"{local}@{domain.rstrip('.')[: -len(_LOCALHOST)]}{_TEST}" if demo else text
    try:
        result = validate_email(checked, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidChannelValue(f"not a valid email address: {str(exc)[:200]}") from None
    ascii_domain = result.ascii_domain.lower()
    if demo:
        ascii_domain = ascii_domain.removesuffix(_TEST) + _LOCALHOST
    address = f"{result.local_part.lower()}@{ascii_domain}"
    if len(address) > MAX_EMAIL_LENGTH:
        raise InvalidChannelValue("the address is too long")
    return address


def _parse_phone(text: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise InvalidChannelValue(
            "not a phone number; write it with its country code, e.g. +65 6123 4567"
        ) from None


def normalise_phone(raw: object) -> str:
    """The E.164 form of `raw` ("+44 (0)20 7946 0000", "0044…", "tel:+44…" → "+442079460000")."""
    text = unicodedata.normalize("NFKC", _clean(raw))
    if text[:4].lower() == "tel:":
        text = text[4:].strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+"):
        raise InvalidChannelValue("write the number with its country code, e.g. +65 6123 4567")
    number = _parse_phone(text)
    if number.extension:
        raise InvalidChannelValue("numbers with an extension are not supported")
    if not phonenumbers.is_valid_number(number):
        raise InvalidChannelValue("this is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_region(e164: str) -> str | None:
    """The ISO 3166 region a canonical number belongs to, or None (non-geographic numbers)."""
    region = phonenumbers.region_code_for_number(_parse_phone(e164))
    return region if region and len(region) == 2 and region.isalpha() and region != "ZZ" else None


@dataclass(frozen=True)
class _HandleRule:
    """Where a platform's handles live and what a handle looks like."""

    hosts: frozenset[str]
    pattern: re.Pattern[str]
    # First path segments of profile URLs that are pages of the platform, never an account.
    reserved: frozenset[str]
    example: str


_HANDLES: Final[dict[OfficialKind, _HandleRule]] = {
    # Telegram: 5–32 characters, a letter first, no trailing underscore; case-insensitive.
    OfficialKind.TELEGRAM: _HandleRule(
        hosts=frozenset({"t.me", "telegram.me", "telegram.dog"}),
        pattern=re.compile(r"[a-z][a-z0-9_]{3,30}[a-z0-9]", re.ASCII),
        reserved=frozenset(
            {
                "joinchat",
                "addstickers",
                "addemoji",
                "addtheme",
                "share",
                "proxy",
                "socks",
                "iv",
                "login",
                "setlanguage",
                "confirmphone",
                "invoice",
                "bg",
                "c",
            }
        ),
        example="@KefuSupport or https://t.me/KefuSupport",
    ),
    # X (Twitter): 1–15 letters, digits and underscores; case-insensitive.
    OfficialKind.X: _HandleRule(
        hosts=frozenset({"x.com", "twitter.com", "mobile.twitter.com", "mobile.x.com"}),
        pattern=re.compile(r"[a-z0-9_]{1,15}", re.ASCII),
        reserved=frozenset(
            {
                "home",
                "i",
                "intent",
                "search",
                "explore",
                "settings",
                "share",
                "hashtag",
                "messages",
                "notifications",
                "login",
                "signup",
                "tos",
                "privacy",
                "compose",
            }
        ),
        example="@KefuSupport or https://x.com/KefuSupport",
    ),
    # Facebook: 5–50 letters, digits and dots (not first or last), or a numeric page id.
    OfficialKind.FACEBOOK: _HandleRule(
        hosts=frozenset(
            {
                "facebook.com",
                "m.facebook.com",
                "web.facebook.com",
                "business.facebook.com",
                "fb.com",
                "fb.me",
                "m.me",
            }
        ),
        pattern=re.compile(r"[a-z0-9][a-z0-9.]{3,48}[a-z0-9]|[0-9]{5,20}", re.ASCII),
        reserved=frozenset(
            {
                "pages",
                "groups",
                "people",
                "watch",
                "events",
                "sharer",
                "sharer.php",
                "login",
                "login.php",
                "home.php",
                "marketplace",
                "gaming",
                "help",
                "policies",
                "privacy",
                "settings",
                "messages",
                "share",
                "profile.php",
            }
        ),
        example="KefuSupport or https://www.facebook.com/KefuSupport",
    ),
}


def _handle_from_url(kind: OfficialKind, rule: _HandleRule, text: str) -> str:
    try:
        parts = urlsplit(text if "://" in text else "//" + text)
        host = (parts.hostname or "").removeprefix("www.")
        has_user = parts.username is not None
    except ValueError:
        raise InvalidChannelValue(f"not a {kind} address; e.g. {rule.example}") from None
    if kind == OfficialKind.TELEGRAM and parts.scheme.lower() == "tg":
        # tg://resolve?domain=name
        names = parse_qs(parts.query).get("domain") if host == "resolve" else None
        if not names:
            raise InvalidChannelValue(f"not a Telegram account link; e.g. {rule.example}")
        return names[0]
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        raise InvalidChannelValue("only http and https profile links are accepted")
    if has_user or host not in rule.hosts:
        raise InvalidChannelValue(f"not a {kind} address; e.g. {rule.example}")
    segments = [segment for segment in parts.path.split("/") if segment]
    if kind == OfficialKind.FACEBOOK and segments[:1] == ["profile.php"]:
        ids = parse_qs(parts.query).get("id")
        if not ids:
            raise InvalidChannelValue("a profile.php link needs its id")
        return ids[0]
    if kind == OfficialKind.TELEGRAM and segments[:1] == ["s"]:
        segments = segments[1:]  # t.me/s/name: the channel's public preview
    if not segments:
        raise InvalidChannelValue(f"the link names no account; e.g. {rule.example}")
    return segments[0]


def normalise_handle(kind: OfficialKind, raw: object) -> str:
    """The canonical handle of a Telegram, X or Facebook account ("@KefuSupport" → "kefusupport")."""
    rule = _HANDLES[kind]
    text = unicodedata.normalize("NFKC", _clean(raw))
    if text.startswith("@"):
        name = text[1:]
    elif "/" in text or ":" in text:
        name = _handle_from_url(kind, rule, text)
    else:
        name = text
    name = name.strip().lower()
    if name in rule.reserved or not rule.pattern.fullmatch(name):
        raise InvalidChannelValue(f"not a valid {kind} account name; e.g. {rule.example}")
    return name


def normalise_value(kind: OfficialKind, raw: object) -> str:
    """The canonical value of `raw` for `kind`; InvalidChannelValue (a ValueError) when there is none."""
    if kind == OfficialKind.DOMAIN:
        return normalise_domain(raw)
    if kind == OfficialKind.EMAIL:
        return normalise_email(raw)
    if kind == OfficialKind.PHONE:
        return normalise_phone(raw)
    return normalise_handle(kind, raw)
