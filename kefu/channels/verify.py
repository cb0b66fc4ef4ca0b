"""Is this really us? A pasted link, domain, address, number or account checked against the registry.

Anyone may ask (the help-center page and `GET /api/v1/verify`); agents' outbound messages are checked
the same way (`check_links`). The answer is one of three verdicts, the official entry it concerns and
reason codes (kefu.channels.lookalike.Reason), which the web layer words in the reader's language:

* `official` — the value is a registered channel, a name under an official domain, or an address at
  one;
* `impersonation` — not ours, but built to look like one of ours (lookalike characters, our brand
  in someone else's domain or handle, another top-level domain, a typo, our handle on a platform
  where we have no such account);
* `not_official` — not ours and no resemblance found. Never read this as "safe": it only says the
  value is not one of our channels.

`classify` is pure; `verify` reads the registry through a per-process cache that actions changing the
registry clear with `forget_registry_after_commit`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.lookalike import (
    NOTHING,
    ChannelLike,
    Finding,
    OfficialEntry,
    Reason,
    RegistryIndex,
    build_index,
    match_handle,
    match_host,
    match_text_brand,
    registrable,
    snapshot,
    split_host,
)
from kefu.channels.models import OfficialKind
from kefu.channels.service import list_channels
from kefu.channels.verify_input import (
    MAX_VALUE_LENGTH,
    EmailInput,
    HandleInput,
    HostInput,
    NotAnAccount,
    PhoneInput,
    ReadValue,
    has_control_characters,
    read_value,
)
from kefu.db.cache import ConfigCache

__all__ = [
    "MAX_VALUE_LENGTH",
    "OfficialEntry",
    "Reason",
    "Verdict",
    "VerdictKind",
    "check_links",
    "classify",
    "forget_registry_after_commit",
    "has_control_characters",
    "verify",
    "verify_links",
]

HANDLE: Final = "handle"  # the `kind` of a bare @name: an account on no particular platform
# An agent's message is checked up to here; nobody pastes more links than this into one reply.
MAX_TEXT_LENGTH: Final = 100_000
MAX_LINKS: Final = 20
# The registry changes rarely; other processes see a change within this many seconds.
REGISTRY_CACHE_SECONDS: Final = 30.0


class VerdictKind(StrEnum):
    OFFICIAL = "official"
    NOT_OFFICIAL = "not_official"
    IMPERSONATION = "impersonation"


@dataclass(frozen=True)
class Verdict:
    """The answer for one value."""

    verdict: VerdictKind
    # What the value was read as: an OfficialKind value, "handle" (@name, any platform), None (unreadable).
    kind: str | None
    matched: OfficialEntry | None  # the official entry it is, or imitates
    reasons: tuple[Reason, ...]
    value: str  # as given, stripped
    canonical: str | None = None  # what was compared: ASCII host or address, E.164, lower-case handle
    unicode: str | None = None  # an IDN host or address as it displays, when that differs from canonical


def _verdict(finding: Finding, read: ReadValue, kind: str | None, value: str) -> Verdict:
    canonical, unicode = _forms(read)
    if finding.official:
        verdict = VerdictKind.OFFICIAL
    elif finding.suspicious:
        verdict = VerdictKind.IMPERSONATION
    else:
        verdict = VerdictKind.NOT_OFFICIAL
    reasons = finding.reasons or (Reason.UNKNOWN,)
    return Verdict(verdict, kind, finding.matched, reasons, value, canonical, unicode)


def _forms(read: ReadValue) -> tuple[str | None, str | None]:
    if isinstance(read, HostInput):
        return read.host, read.unicode if read.unicode != read.host else None
    if isinstance(read, EmailInput):
        unicode = f"{read.local}@{read.unicode}"
        return read.address, unicode if unicode != read.address else None
    if isinstance(read, PhoneInput):
        return read.e164, None
    if isinstance(read, HandleInput):
        return read.name, None
    return None, None


def _address_at(index: RegistryIndex, entry: OfficialEntry | None) -> OfficialEntry | None:
    """An official address at the domain `entry` names, else `entry` (people know the address)."""
    if entry is None or entry.kind != OfficialKind.DOMAIN:
        return entry
    domain = registrable(entry.value)
    for address, candidate in index.emails.items():
        if registrable(address.rpartition("@")[2]) == domain:
            return candidate
    return entry


def _check_host(read: HostInput, index: RegistryIndex) -> Finding:
    if read.ip:
        return Finding(False, None, (Reason.IP_ADDRESS,))
    finding = match_host(read.host, index)
    if finding.official or finding.suspicious or read.userinfo is None:
        return finding
    # "https://kefu.localhost@evil.example/": our name before the "@", someone else's host after it.
    return match_text_brand(read.userinfo, index, Reason.DECEPTIVE_USERINFO)


def _check_email(read: EmailInput, index: RegistryIndex) -> Finding:
    exact = index.emails.get(read.address)
    if exact is not None:
        return Finding(True, exact, (Reason.EXACT_MATCH,))
    domain = match_host(read.host, index)
    if domain.official:
        return Finding(True, _address_at(index, domain.matched), (Reason.OFFICIAL_EMAIL_DOMAIN,))
    if domain.suspicious:
        return Finding(False, _address_at(index, domain.matched), domain.reasons)
    # "kefu.support@gmail.com": our name in the part before "@" of someone else's mailbox.
    local = match_text_brand(read.local, index, Reason.BRAND_IN_ADDRESS)
    return Finding(False, _address_at(index, local.matched), local.reasons) if local.suspicious else local


def _check_phone(read: PhoneInput, index: RegistryIndex) -> Finding:
    if read.e164 is not None:
        entry = index.phones.get(read.e164)
        return Finding(True, entry, (Reason.EXACT_MATCH,)) if entry else NOTHING
    # No country code: it may be an official number written the way locals write it.
    for e164, entry in index.phones.items():
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
            number = phonenumbers.parse(read.national, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == e164:
            return Finding(True, entry, (Reason.EXACT_MATCH,))
    return NOTHING


def _kind_of(read: ReadValue) -> str | None:
    if isinstance(read, HostInput):
        return OfficialKind.DOMAIN.value
    if isinstance(read, EmailInput):
        return OfficialKind.EMAIL.value
    if isinstance(read, PhoneInput):
        return OfficialKind.PHONE.value
    if isinstance(read, HandleInput):
        return read.kind.value if read.kind else HANDLE
    if isinstance(read, NotAnAccount):
        return read.kind.value
    return None


def _classify_read(read: ReadValue, value: str, index: RegistryIndex) -> Verdict:
    kind = _kind_of(read)
    if isinstance(read, HostInput):
        finding = _check_host(read, index)
    elif isinstance(read, EmailInput):
        finding = _check_email(read, index)
    elif isinstance(read, PhoneInput):
        finding = _check_phone(read, index)
    elif isinstance(read, HandleInput):
        finding = match_handle(read.kind, read.name, index)
        if finding.official and read.kind is None and finding.matched is not None:
            kind = finding.matched.kind.value  # "@kefusupport" is our Telegram account
    elif isinstance(read, NotAnAccount):
        finding = Finding(False, None, (Reason.NOT_AN_ACCOUNT,))
    else:
        finding = Finding(False, None, (Reason.UNRECOGNISED,))
    return _verdict(finding, read, kind, value)


def classify(value: str, registry: Sequence[ChannelLike]) -> Verdict:
    """The verdict on `value` against `registry` (OfficialChannel rows or OfficialEntry copies).

    Pure and total: any string gets an answer (Reason.UNRECOGNISED when it is no link, domain,
    address, number or account name), never an exception.
    """
    index = build_index(snapshot(registry))
    return _classify_read(read_value(value), value.strip()[:MAX_VALUE_LENGTH], index)


# --- the registry, cached per process --------------------------------------------------------------

_REGISTRY: ConfigCache[tuple[OfficialEntry, ...]] = ConfigCache(
    "official_channel_registry", ttl=REGISTRY_CACHE_SECONDS, max_keys=1
)


async def _load_registry(session: AsyncSession) -> tuple[OfficialEntry, ...]:
    return snapshot(await list_channels(session))


async def get_registry(session: AsyncSession) -> tuple[OfficialEntry, ...]:
    """Every official channel as immutable copies, cached for REGISTRY_CACHE_SECONDS per process."""
    return await _REGISTRY.get(session, "all", _load_registry)


def forget_registry_after_commit(session: AsyncSession) -> None:
    """Drop the cached registry now and after `session` commits (the registry's actions call this)."""
    _REGISTRY.invalidate_after_commit(session)


async def verify(session: AsyncSession, value: str) -> Verdict:
    """The verdict on `value` against the current registry (anyone may ask; nothing is written)."""
    return classify(value, await get_registry(session))


# --- links in agents' outbound messages --------------------------------------------------------------

# Where a link ends in running text: spaces, quotes, brackets, and CJK punctuation and ideographs
# (Chinese text puts no space around a link: "请访问kefu.localhost。").
_LINK_BREAKS: Final = re.compile(
    "[\\s<>\"'`()\\[\\]{}，。、；：！？（）【】《》「」『』“”‘’\u3400-\u4dbf\u4e00-\u9fff]+"
)
_TRAILING: Final = ".,;:!?*_~"
_WEB_LINK: Final = re.compile(r"(?:https?://|www\.|tg://)", re.IGNORECASE)
_HOST_LIKE: Final = re.compile(r"[\w-]+(?:\.[\w-]+)+(?:/\S*)?", re.UNICODE)


def _link_candidates(text: str) -> list[str]:
    """Links, bare domains with a known public suffix, and email addresses in `text`, deduplicated."""
    found: dict[str, None] = {}
    for token in _LINK_BREAKS.split(text[:MAX_TEXT_LENGTH]):
        token = token.strip(_TRAILING)
        if not token or len(token) > MAX_VALUE_LENGTH:
            continue
        if _WEB_LINK.match(token):
            found.setdefault(token)
        elif "@" in token[1:] and "/" not in token:
            found.setdefault(token.removeprefix("mailto:"))
        elif _HOST_LIKE.fullmatch(token):
            host = token.split("/", 1)[0]
            # Only names under a public suffix ("kefu-login.com", not "v1.2"), or IDNs (lookalikes).
            if not host.isascii() or (split_host(host.lower())[1] and not host.replace(".", "").isdigit()):
                found.setdefault(token)
        if len(found) >= MAX_LINKS:
            break
    return list(found)


def check_links(text: str, registry: Sequence[ChannelLike]) -> list[Verdict]:
    """A verdict for each link, domain or address in `text` (an agent's reply), in order of appearance.

    Up to MAX_LINKS distinct values from the first MAX_TEXT_LENGTH characters; `Verdict.value` is the
    link as written. Pure; callers warn on `impersonation` and `not_official`.
    """
    index = build_index(snapshot(registry))
    return [_classify_read(read_value(link), link, index) for link in _link_candidates(text)]


async def verify_links(session: AsyncSession, text: str) -> list[Verdict]:
    """`check_links` against the current registry."""
    return check_links(text, await get_registry(session))
