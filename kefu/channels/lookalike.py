"""Matching a read value against the registry: exact matches, and the lookalikes impersonators use.

Built once per registry snapshot (`build_index`, cached by content), then asked per value. Signals:

* confusable_of — same TR39-style skeleton as an official name (kefu.localhost with a Cyrillic е, 0kx);
* tld_swap — the official name under another public suffix (kefu.com for kefu.io);
* brand_in_domain / brand_in_address / brand_in_handle — our brand as a part of someone else's name
  (kefu-support.com, kefu.localhost.login-check.io, kefu.help@gmail.com, @kefu_helpdesk);
* edit_distance — one or two typing slips away from an official name (Damerau–Levenshtein);
* lookalike_handle — an official handle with separators added or removed (@kefu_support);
* other_platform — our handle on a platform where we have no account of that name.

Brands are the registrable labels of official domains ("kefu" for kefu.localhost) and the official
handles with service words removed ("kefusupport" → "kefu"). Registrable domains come from tldextract
with its bundled Public Suffix List (private suffixes included, so `kefu.github.io` belongs to
whoever made it, not to GitHub) and never the network; RFC 6761 special-use names (localhost, test,
example, invalid) count as suffixes so demo and test registries behave like real ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from typing import Final, Protocol

import tldextract
from rapidfuzz.distance import DamerauLevenshtein

from kefu.channels.confusables import skeleton
from kefu.channels.models import OfficialKind
from kefu.channels.verify_input import HANDLE_KINDS, to_unicode

SPECIAL_USE_SUFFIXES: Final = ("localhost", "test", "example", "invalid")
# Words impersonators wrap around a brand, and official handles add to it ("kefusupport").
SERVICE_WORDS: Final = frozenset(
    {
        "support", "help", "helpdesk", "desk", "care", "service", "services", "official", "team",
        "cs", "hq", "global", "app", "login", "signin", "verify", "verification", "secure",
        "security", "wallet", "online", "web", "exchange", "pro", "real", "the", "my", "get",
        "info", "news", "admin", "customer", "center", "centre", "contact", "kf", "assist",
        "refund", "recovery", "claim", "airdrop", "bonus", "reward", "rewards", "vip", "agent",
    }
)  # fmt: skip
MIN_BRAND_LENGTH: Final = 3
_SEPARATORS: Final = re.compile(r"[-_.]+")


class Reason(StrEnum):
    """Why a value got its verdict (the web layer words each one in the reader's language)."""

    EXACT_MATCH = "exact_match"
    SUBDOMAIN_OF_OFFICIAL = "subdomain_of_official"
    OFFICIAL_EMAIL_DOMAIN = "official_email_domain"
    CONFUSABLE_OF = "confusable_of"
    TLD_SWAP = "tld_swap"
    BRAND_IN_DOMAIN = "brand_in_domain"
    BRAND_IN_ADDRESS = "brand_in_address"
    BRAND_IN_HANDLE = "brand_in_handle"
    EDIT_DISTANCE = "edit_distance"
    LOOKALIKE_HANDLE = "lookalike_handle"
    OTHER_PLATFORM = "other_platform"
    DECEPTIVE_USERINFO = "deceptive_userinfo"
    IP_ADDRESS = "ip_address"
    NOT_AN_ACCOUNT = "not_an_account"
    UNKNOWN = "unknown"
    UNRECOGNISED = "unrecognised"


class ChannelLike(Protocol):
    """What classification reads of a registry row (an OfficialChannel or an OfficialEntry)."""

    @property
    def kind(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def label_zh(self) -> str | None: ...


@dataclass(frozen=True)
class OfficialEntry:
    """An immutable copy of one registry row (safe to cache across sessions)."""

    kind: OfficialKind
    value: str
    label: str = ""
    label_zh: str | None = None


def snapshot(channels: Iterable[ChannelLike]) -> tuple[OfficialEntry, ...]:
    """Immutable copies of registry rows, in the given order."""
    return tuple(OfficialEntry(OfficialKind(c.kind), c.value, c.label, c.label_zh) for c in channels)


@dataclass(frozen=True)
class Site:
    """An official domain split at its public suffix, with the skeletons lookalikes are compared on."""

    entry: OfficialEntry
    host: str
    label: str  # the registrable label, ASCII ("kefu")
    suffix: str
    label_skeleton: str
    registrable_skeleton: str


@dataclass(frozen=True)
class Handle:
    entry: OfficialEntry
    name: str
    squashed: str  # without separators
    squashed_skeleton: str


@dataclass(frozen=True)
class Finding:
    """The outcome of one comparison: official or not, the entry it concerns, and why."""

    official: bool
    matched: OfficialEntry | None
    reasons: tuple[Reason, ...]

    @property
    def suspicious(self) -> bool:
        """Not official, but imitating an official entry."""
        return not self.official and self.matched is not None


NOTHING: Final = Finding(False, None, ())


@dataclass(frozen=True)
class Brand:
    """Our name as it appears in official values: as written and as a skeleton."""

    plain: str
    folded: str
    entry: OfficialEntry


@dataclass(frozen=True)
class RegistryIndex:
    """The registry arranged for matching."""

    sites: tuple[Site, ...]
    emails: dict[str, OfficialEntry] = field(hash=False)
    phones: dict[str, OfficialEntry] = field(hash=False)
    handles: tuple[Handle, ...]
    brands: tuple[Brand, ...]


@cache
def _extractor() -> tldextract.TLDExtract:
    # Bundled snapshot only: no suffix-list download, no cache directory.
    return tldextract.TLDExtract(
        suffix_list_urls=(),
        cache_dir=None,
        include_psl_private_domains=True,
        extra_suffixes=SPECIAL_USE_SUFFIXES,
    )


def split_host(host: str) -> tuple[str, str]:
    """(registrable label, public suffix) of an ASCII host; the label is "" for a bare suffix."""
    parts = _extractor()(host)
    return parts.domain, parts.suffix


def registrable(host: str) -> str:
    """The registrable domain of an ASCII host ("help.kefu.co.uk" → "kefu.co.uk")."""
    label, suffix = split_host(host)
    return f"{label}.{suffix}" if label and suffix else label or suffix


def _squash(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _words(text: str) -> list[str]:
    """The words of each dot-separated label, then each label without its separators."""
    words: list[str] = []
    for label in text.split("."):
        words.extend(t for t in _SEPARATORS.split(label) if t)
        words.append(_squash(label))
    return [w for w in words if w]


def _brand_stem(handle: str) -> str:
    """An official handle without the service words around the brand ("kefu_support_hq" → "kefu")."""
    stem = _squash(handle)
    changed = True
    while changed:
        changed = False
        for word in sorted(SERVICE_WORDS, key=len, reverse=True):
            for cut in (stem.removeprefix(word), stem.removesuffix(word)):
                if cut != stem and len(cut) >= MIN_BRAND_LENGTH:
                    stem, changed = cut, True
                    break
    return stem


@lru_cache(maxsize=8)
def build_index(entries: tuple[OfficialEntry, ...]) -> RegistryIndex:
    """The matching index of a registry snapshot (cached: equal snapshots share one index)."""
    sites, handles, brands = [], [], []
    emails: dict[str, OfficialEntry] = {}
    phones: dict[str, OfficialEntry] = {}
    for entry in entries:
        if entry.kind == OfficialKind.DOMAIN:
            label, suffix = split_host(entry.value)
            if not label:
                continue
            site = Site(
                entry,
                entry.value,
                label,
                suffix,
                skeleton(to_unicode(label)),
                skeleton(to_unicode(registrable(entry.value))),
            )
            sites.append(site)
            brands.append(Brand(label, _squash(site.label_skeleton), entry))
        elif entry.kind == OfficialKind.EMAIL:
            emails.setdefault(entry.value, entry)
        elif entry.kind == OfficialKind.PHONE:
            phones.setdefault(entry.value, entry)
        elif entry.kind in HANDLE_KINDS:
            squashed = _squash(entry.value)
            handles.append(Handle(entry, entry.value, squashed, skeleton(squashed)))
            stem = _brand_stem(entry.value)
            brands.append(Brand(stem, skeleton(stem), entry))
    # Domains come first: a lookalike of the website names the website, not the Telegram account.
    unique: dict[str, Brand] = {}
    for brand in brands:
        usable = len(brand.folded) >= MIN_BRAND_LENGTH and brand.plain not in SERVICE_WORDS
        if usable and brand.folded not in unique:
            unique[brand.folded] = brand
    return RegistryIndex(tuple(sites), emails, phones, tuple(handles), tuple(unique.values()))


def _limit(name: str) -> int:
    """How many typing slips still read as `name`: none under 4 letters, 1 up to 7, then 2."""
    if len(name) < 4:
        return 0
    return 1 if len(name) < 8 else 2


def _brand_in_word(word: str, brand: str, service: frozenset[str]) -> bool:
    """`brand` inside `word` the way impersonators put it there.

    Brands of 5+ letters count anywhere ("mybinancelogin"); 4 letters at either end or between
    service words ("kefuhelpcenter", "mykefuwallet"); 3 letters only alone or with service words
    around them ("okxsupport", but not "rockx").
    """
    start = word.find(brand)
    while start != -1:
        left, right = word[:start], word[start + len(brand) :]
        framed = (not left or left in service) and (not right or right in service)
        if len(brand) >= 5 or framed or (len(brand) == 4 and (not left or not right)):
            return True
        start = word.find(brand, start + 1)
    return False


_SERVICE_SKELETONS: Final = frozenset(skeleton(w) for w in SERVICE_WORDS)


def find_brand(text: str, index: RegistryIndex) -> tuple[OfficialEntry, bool] | None:
    """The entry whose brand appears in `text`, and whether it shows only once look-alike characters
    are folded (then the text is also a confusable)."""
    folded_words = _words(skeleton(text))
    plain_words = _words(text.lower())
    for brand in index.brands:
        if any(_brand_in_word(w, brand.folded, _SERVICE_SKELETONS) for w in folded_words):
            plain = any(_brand_in_word(w, brand.plain, SERVICE_WORDS) for w in plain_words)
            return brand.entry, not plain
    return None


def find_typo(words: Iterable[str], index: RegistryIndex) -> OfficialEntry | None:
    """The entry whose brand one of `words` misspells by a slip or two."""
    for word in words:
        folded = skeleton(word)
        if len(folded) < MIN_BRAND_LENGTH:
            continue
        for brand in index.brands:
            limit = _limit(brand.folded)
            if limit and 0 < DamerauLevenshtein.distance(folded, brand.folded, score_cutoff=limit) <= limit:
                return brand.entry
    return None


def _ordered(*reasons: Reason | None) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(r for r in reasons if r is not None))


def match_host(host: str, index: RegistryIndex) -> Finding:
    """An ASCII host against the official domains: exact, under the same registrable domain, or a
    lookalike of one."""
    for site in index.sites:
        if host == site.host:
            return Finding(True, site.entry, (Reason.EXACT_MATCH,))
    label, suffix = split_host(host)
    if not label:
        return NOTHING
    own = registrable(host)
    for site in index.sites:
        # The registrant of an official domain controls every name under it.
        if host.endswith("." + site.host) or own == registrable(site.host):
            return Finding(True, site.entry, (Reason.SUBDOMAIN_OF_OFFICIAL,))
    label_skeleton = skeleton(to_unicode(label))
    own_skeleton = skeleton(to_unicode(own))
    for site in index.sites:
        if own_skeleton == site.registrable_skeleton:
            return Finding(False, site.entry, (Reason.CONFUSABLE_OF,))
        if label_skeleton == site.label_skeleton:
            confusable = Reason.CONFUSABLE_OF if label != site.label else None
            return Finding(False, site.entry, _ordered(confusable, Reason.TLD_SWAP))
    brand = find_brand(to_unicode(host.removesuffix("." + suffix) if suffix else host), index)
    if brand is not None:
        entry, folded = brand
        confusable = Reason.CONFUSABLE_OF if folded else None
        return Finding(False, entry, _ordered(Reason.BRAND_IN_DOMAIN, confusable))
    typo = find_typo(_words(to_unicode(label)), index)
    if typo is not None:
        return Finding(False, typo, (Reason.EDIT_DISTANCE,))
    return NOTHING


def match_handle(kind: OfficialKind | None, name: str, index: RegistryIndex) -> Finding:
    """An account name (on `kind`, or any platform when None) against the official handles."""
    same = [h for h in index.handles if kind is None or h.entry.kind == kind]
    for handle in same:
        if name == handle.name:
            return Finding(True, handle.entry, (Reason.EXACT_MATCH,))
    # Same-platform handles are compared first so the answer names the account being imitated.
    ordered = same + [h for h in index.handles if h not in same]
    for handle in ordered:
        if name == handle.name:
            return Finding(False, handle.entry, (Reason.OTHER_PLATFORM,))
    squashed = _squash(name)
    folded = skeleton(squashed)
    for handle in ordered:
        if squashed == handle.squashed:
            return Finding(False, handle.entry, (Reason.LOOKALIKE_HANDLE,))
        if folded == handle.squashed_skeleton:
            return Finding(False, handle.entry, (Reason.CONFUSABLE_OF,))
    for handle in ordered:
        limit = _limit(handle.squashed_skeleton)
        distance = DamerauLevenshtein.distance(folded, handle.squashed_skeleton, score_cutoff=limit)
        if limit and 0 < distance <= limit:
            return Finding(False, handle.entry, (Reason.LOOKALIKE_HANDLE, Reason.EDIT_DISTANCE))
    brand = find_brand(name, index)
    if brand is not None:
        entry, was_folded = brand
        preferred = next((h.entry for h in same), entry)
        confusable = Reason.CONFUSABLE_OF if was_folded else None
        return Finding(False, preferred, _ordered(Reason.BRAND_IN_HANDLE, confusable))
    return NOTHING


def match_text_brand(text: str, index: RegistryIndex, reason: Reason) -> Finding:
    """Our brand inside free text such as an address's local part or a URL's user part."""
    brand = find_brand(text, index)
    if brand is None:
        return NOTHING
    entry, folded = brand
    return Finding(False, entry, _ordered(reason, Reason.CONFUSABLE_OF if folded else None))
