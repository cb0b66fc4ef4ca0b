"""Reading what someone pasted into "Is this really us?": which kind of value it is, and its canonical form.

Accepted: a URL with or without scheme, a bare domain, an email address (also `mailto:` and
`Name <address>`), a phone number in any common format (`+`, `00`, `tel:`, spaces, brackets, or a
national number without country code), an `@handle` or bare name, and Telegram / X / Facebook profile
links (`t.me/…`, `x.com/…`, `facebook.com/…`, `m.me/…`, `tg://resolve?domain=…`). A link to a social
platform is read as the account it names, never as the platform's domain.

URLs are split the way browsers split them (WHATWG): a backslash is a path separator, so
`https://kefu.localhost\\@evil.example` opens kefu.localhost, while
`https://kefu.localhost@evil.example` opens evil.example with "kefu.localhost" as its user part.
Canonical forms come from kefu.channels.normalize, so they compare equal to registry values. Pure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from kefu.channels.models import OfficialKind
from kefu.channels.normalize import (
    InvalidChannelValue,
    normalise_domain,
    normalise_email,
    normalise_handle,
    normalise_phone,
)

# Longer than any link worth checking; the API and page refuse longer values with 422.
MAX_VALUE_LENGTH: Final = 2048
# The parts handed to kefu.channels.normalize stay well below its own input limit.
_MAX_PART: Final = 320

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://")
_ANGLE_ADDRESS: Final = re.compile(r"<([^<>\s]{1,320})>")
_PHONE: Final = re.compile(r"\(?\+?[0-9][0-9 ().\-/]{3,40}")
_DOTTED_NUMBERS: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# A name on a platform whose rules we cannot apply (a bare `@name`, or Unicode in a Facebook path).
_LOOSE_NAME: Final = re.compile(r"[\w.]{1,64}")

# Where each platform's profile links live (kefu.channels.normalize applies the platform's rules).
SOCIAL_HOSTS: Final[dict[str, OfficialKind]] = {
    "t.me": OfficialKind.TELEGRAM,
    "telegram.me": OfficialKind.TELEGRAM,
    "telegram.dog": OfficialKind.TELEGRAM,
    "x.com": OfficialKind.X,
    "twitter.com": OfficialKind.X,
    "mobile.twitter.com": OfficialKind.X,
    "mobile.x.com": OfficialKind.X,
    "facebook.com": OfficialKind.FACEBOOK,
    "m.facebook.com": OfficialKind.FACEBOOK,
    "web.facebook.com": OfficialKind.FACEBOOK,
    "business.facebook.com": OfficialKind.FACEBOOK,
    "fb.com": OfficialKind.FACEBOOK,
    "fb.me": OfficialKind.FACEBOOK,
    "m.me": OfficialKind.FACEBOOK,
}
HANDLE_KINDS: Final = (OfficialKind.TELEGRAM, OfficialKind.X, OfficialKind.FACEBOOK)


@dataclass(frozen=True)
class HostInput:
    """A URL or bare domain: the host it opens (ASCII, IDNA), its Unicode spelling, its user part."""

    host: str
    unicode: str
    userinfo: str | None = None
    ip: bool = False


@dataclass(frozen=True)
class EmailInput:
    """An email address in canonical form, its domain and the domain's Unicode spelling."""

    address: str
    local: str
    host: str
    unicode: str


@dataclass(frozen=True)
class PhoneInput:
    """A number: E.164 when it carried a country code, else its digits as written (national)."""

    e164: str | None
    national: str


@dataclass(frozen=True)
class HandleInput:
    """An account name; `kind` None for a bare `@name` (any platform). `strict`: the platform's rules hold."""

    kind: OfficialKind | None
    name: str
    strict: bool = True


@dataclass(frozen=True)
class NotAnAccount:
    """A link into a social platform that names no account (a group invite, a post, the home page)."""

    kind: OfficialKind


@dataclass(frozen=True)
class Unreadable:
    """Nothing we can check: empty, too long, control characters, or no recognisable shape."""


ReadValue = HostInput | EmailInput | PhoneInput | HandleInput | NotAnAccount | Unreadable


def has_control_characters(text: str) -> bool:
    """True when `text` holds control or format characters (CR/LF, NUL, bidi overrides)."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in text)


def to_unicode(host: str) -> str:
    """The Unicode spelling of an ASCII host ("xn--kfu-8cd.localhost" → "kеfu.localhost")."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            # Not valid punycode: keep what was written.
            with contextlib.suppress(UnicodeError, ValueError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def _is_ip(host: str) -> bool:
    """Literal addresses, including the numeric forms browsers still resolve (2130706433, 0x7f.1)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        last = host.rsplit(".", 1)[-1]
        return last.isdigit() or last.lower().startswith("0x")
    return True


def _host(host: str, userinfo: str | None) -> ReadValue:
    host = unquote(host).rstrip(".")
    if not host:
        return Unreadable()
    if _is_ip(host):
        return HostInput(host.strip("[]").lower(), host.strip("[]").lower(), userinfo, ip=True)
    try:
        ascii_host = normalise_domain(host[:_MAX_PART])
    except InvalidChannelValue:
        return Unreadable()
    return HostInput(ascii_host, to_unicode(ascii_host), userinfo)


def _social(kind: OfficialKind, host: str, path: str, query: str) -> ReadValue:
    segments = [unquote(s) for s in path.split("/") if s][:2]
    if not segments:
        return _host(host, None)  # the platform itself: judged as a domain
    link = f"https://{host}/" + "/".join(s[: _MAX_PART // 4] for s in segments)
    if segments[0] == "profile.php":
        ids = parse_qs(query).get("id")
        link += f"?id={ids[0][:30]}" if ids else ""
    try:
        return HandleInput(kind, normalise_handle(kind, link))
    except InvalidChannelValue:
        pass
    name = unicodedata.normalize("NFKC", segments[0]).lower()
    if not name.isascii() and _LOOSE_NAME.fullmatch(name):
        # Platform rules are ASCII; a Unicode name can only be a lookalike written to be read.
        return HandleInput(kind, name, strict=False)
    return NotAnAccount(kind)


def _url(text: str, *, has_scheme: bool) -> ReadValue:
    text = text.replace("\\", "/")
    try:
        parts = urlsplit(text if has_scheme else "//" + text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return Unreadable()
    scheme = parts.scheme.lower()
    if scheme == "tg":
        return _handle_text(OfficialKind.TELEGRAM, text[:_MAX_PART])
    if scheme not in ("", "http", "https"):
        return Unreadable()
    userinfo = unquote(parts.username) if parts.username else None
    bare = host.removeprefix("www.")
    kind = SOCIAL_HOSTS.get(bare)
    if kind is not None and userinfo is None:
        return _social(kind, bare, parts.path, parts.query)
    return _host(host, userinfo)


def _handle_text(kind: OfficialKind, text: str) -> ReadValue:
    try:
        return HandleInput(kind, normalise_handle(kind, text))
    except InvalidChannelValue:
        return NotAnAccount(kind)


def _bare_name(name: str) -> ReadValue:
    """`@name` or `name` on no particular platform: valid on at least one, or a loose lookalike."""
    name = unicodedata.normalize("NFKC", name).strip()
    for kind in HANDLE_KINDS:
        try:
            return HandleInput(None, normalise_handle(kind, "@" + name))
        except InvalidChannelValue:
            continue
    if _LOOSE_NAME.fullmatch(name):
        return HandleInput(None, name.lower(), strict=False)
    return Unreadable()


def _email(text: str) -> ReadValue:
    try:
        address = normalise_email(text[:_MAX_PART])
    except InvalidChannelValue:
        return Unreadable()
    local, _, host = address.rpartition("@")
    return EmailInput(address, local, host, to_unicode(host))


def _phone(text: str) -> ReadValue:
    text = unicodedata.normalize("NFKC", text).strip().removeprefix("(")
    if text.startswith(("+", "00")):
        try:
            return PhoneInput(normalise_phone(text[:_MAX_PART]), text)
        except InvalidChannelValue:
            return Unreadable()
    digits = "".join(c for c in text if c.isdigit())
    return PhoneInput(None, digits) if 5 <= len(digits) <= 17 else Unreadable()


def read_value(raw: str) -> ReadValue:
    """What `raw` is and its canonical form; Unreadable when it is none of the accepted shapes."""
    text = raw.strip()
    if not text or len(text) > MAX_VALUE_LENGTH or has_control_characters(text):
        return Unreadable()
    lower = text.lower()
    if lower.startswith("mailto:"):
        return _email(text[7:].split("?", 1)[0])
    if lower.startswith("tel:"):
        return _phone(text[4:])
    if text.startswith("@"):
        return _bare_name(text[1:])
    if _SCHEME.match(text) or lower.startswith("tg:"):
        return _url(text, has_scheme=True)
    if (angle := _ANGLE_ADDRESS.search(text)) and "@" in angle.group(1):
        return _email(angle.group(1))  # "Kefu Support <support@…>", as mail clients show senders
    if "@" in text and not any(c in text for c in "/?#:"):
        return _email(text)
    folded = unicodedata.normalize("NFKC", text)
    if _PHONE.fullmatch(folded) and not _DOTTED_NUMBERS.fullmatch(folded):
        return _phone(folded)
    if "." in text or "/" in text or "。" in text or "．" in text:
        return _url(text, has_scheme=False)
    return _bare_name(text)
