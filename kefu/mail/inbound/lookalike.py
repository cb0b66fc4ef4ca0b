"""Does a sender's domain or display name pass for one of our domains? Rules for inbound phishing checks.

Every comparison is made on *skeletons* (`skeleton`): lower case, NFKC, accents dropped, a small table
of homoglyphs mapped to their Latin look-alike, and the letter pairs that read as one letter (rn → m,
vv → w) contracted. Domains are decoded from punycode first, so `xn--kfu-rdd.io` is read as `kеfu.io`.

A domain is *ours* (`match_ours`) when it is one of our domains, a subdomain of one, or shares its
registrable domain (mail.kefu.io is ours when kefu.io is). A domain that is not ours *imitates* one of
ours (`imitated`) when any of these rules holds, checked in this order:

1. Homoglyph: its skeleton equals the skeleton of our domain (`kеfu.io` with a Cyrillic е, `kefu.i0`).
2. TLD swap: its registrable label has our label's skeleton under another public suffix
   (`kefu.com`, `kefu.co.uk` when ours is `kefu.io`).
3. Typo: our registrable label is at least 5 characters and the skeletons are within Levenshtein
   distance 2 (`demoexchnage.com`, `dem0-exchange.com` for `demoexchange.com`). Shorter labels are
   skipped: every 4-letter word is two edits from another.
4. Brand in domain: our label appears inside any label of the domain, hyphens ignored
   (`kefu-support.com`, `kefu.com.verify-login.io`). A label of 5+ characters matches as a substring
   (`demoexchangesupport.net`); a shorter one only as a whole hyphen-separated word, since short brands
   are common syllables (`kefu` is pinyin for "customer service"; `kefuzhang.cn` is not flagged).

A display name *claims* us (`mentions_ours`) when its skeleton contains one of our domains
("support@kefu.io <x@evil.com>") or our brand (the registrable label) by the same word/substring rule
as rule 4 ("Kefu Support <x@gmail.com>", "Kеfu 客服"). Domain-like words in the display name are
checked against rules 1–4 as well (`imitated_in_text`).

The channel verify page has a similar check (kefu/channels/confusables.py, kefu/channels/verify.py);
this one is kept separate on purpose until the two are unified.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

import tldextract
from rapidfuzz.distance import Levenshtein

# Look-alikes that NFKC leaves alone. Sources: Unicode confusables.txt (entries for these letters).
_HOMOGLYPHS: Final[dict[str, str]] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "є": "e", "һ": "h", "н": "h", "і": "i", "ї": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s",
    "т": "t", "с": "c", "у": "y", "ү": "y", "х": "x", "ԁ": "d", "ԝ": "w", "ь": "b", "п": "n",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "μ": "u",
    # Latin letters and digits that pass for other letters
    "ı": "i", "ȷ": "j", "ł": "l", "ɡ": "g", "ɑ": "a", "ø": "o", "0": "o", "1": "l", "|": "l",
    # Dashes that pass for a hyphen
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
}  # fmt: skip
_PAIRS: Final = (("rn", "m"), ("vv", "w"))
MIN_BRAND: Final = 3  # a shorter registrable label ("ab.io") would match too much to be a signal
MIN_TYPO_LABEL: Final = 5
MAX_TYPO_DISTANCE: Final = 2
MAX_TEXT: Final = 1_000  # display names are scanned up to this many characters
_WORD: Final = re.compile(r"[a-z]+")
# Anything shaped like a domain in free text: labels of letters/digits/hyphens joined by dots.
_DOMAIN_IN_TEXT: Final = re.compile(r"(?:[^\W_](?:[\w-]{0,62})\.){1,8}[^\W\d_]{2,63}", re.UNICODE)


@cache
def _extractor() -> tldextract.TLDExtract:
    """The public suffix list bundled with tldextract: never fetched, never cached on disk."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def to_unicode(domain: str) -> str:
    """`domain` with punycode labels decoded, lower case, without a trailing dot; bad labels kept as is."""
    labels = []
    for label in domain.strip().rstrip(".").lower().split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):  # not valid punycode: compare it as written
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def to_ascii(domain: str) -> str | None:
    """`domain` in IDNA A-label form, lower case; None when it cannot be a domain name."""
    name = domain.strip().rstrip(".").lower()
    if not name or len(name) > 253:
        return None
    try:
        encoded = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if any(not label or len(label) > 63 for label in encoded.split(".")):
        return None
    if not re.fullmatch(r"[a-z0-9_.-]+", encoded):
        return None
    return encoded


def organisational_domain(domain: str) -> str:
    """The registrable domain (public suffix + one label) of `domain`, or `domain` when it has no suffix."""
    result = _extractor()(domain)
    return result.top_domain_under_public_suffix or domain


@lru_cache(maxsize=4096)
def skeleton(text: str) -> str:
    """The comparison form of `text`: equal skeletons mean a reader can take one for the other."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    mapped = "".join(_HOMOGLYPHS.get(c, c) for c in folded if not unicodedata.combining(c))
    for pair, letter in _PAIRS:
        mapped = mapped.replace(pair, letter)
    return mapped


@dataclass(frozen=True)
class _Ours:
    domain: str  # as configured (ASCII)
    org: str  # registrable domain, ASCII
    skeleton: str  # of the Unicode form of the whole domain
    label: str  # skeleton of the registrable label, hyphens removed: the brand
    suffix: str


@lru_cache(maxsize=64)
def _ours(our_domains: tuple[str, ...]) -> tuple[_Ours, ...]:
    out = []
    for configured in our_domains:
        domain = to_ascii(configured)
        if domain is None:
            continue
        parts = _extractor()(domain)
        out.append(
            _Ours(
                domain=domain,
                org=organisational_domain(domain),
                skeleton=skeleton(to_unicode(domain)),
                label=skeleton(to_unicode(parts.domain)).replace("-", ""),
                suffix=parts.suffix,
            )
        )
    return tuple(out)


def match_ours(domain: str, our_domains: Sequence[str]) -> str | None:
    """Which of `our_domains` `domain` belongs to (same registrable domain), or None."""
    ascii_domain = to_ascii(domain)
    if ascii_domain is None:
        return None
    org = organisational_domain(ascii_domain)
    for ours in _ours(tuple(our_domains)):
        if ascii_domain == ours.domain or ascii_domain.endswith("." + ours.domain) or org == ours.org:
            return ours.domain
    return None


def _brand_in(text_skeleton: str, brand: str) -> bool:
    """Rule 4 on one label or one display name: whole word for short brands, substring for long ones."""
    if len(brand) < MIN_BRAND:
        return False
    if len(brand) >= MIN_TYPO_LABEL:
        return brand in re.sub(r"[^a-z0-9]", "", text_skeleton)
    return brand in _WORD.findall(text_skeleton)


def imitated(domain: str, our_domains: Sequence[str]) -> str | None:
    """Which of `our_domains` `domain` imitates by rules 1–4, or None (also None when it is ours)."""
    if not domain or match_ours(domain, our_domains) is not None:
        return None
    unicode_domain = to_unicode(domain)
    domain_skeleton = skeleton(unicode_domain)
    parts = _extractor()(unicode_domain)
    label = skeleton(parts.domain).replace("-", "")
    label_skeletons = [skeleton(x) for x in unicode_domain.split(".")]
    for ours in _ours(tuple(our_domains)):
        if domain_skeleton == ours.skeleton:  # 1. homoglyph
            return ours.domain
        if label and label == ours.label and parts.suffix != ours.suffix:  # 2. TLD swap
            return ours.domain
        if (  # 3. typo
            len(ours.label) >= MIN_TYPO_LABEL
            and Levenshtein.distance(label, ours.label, score_cutoff=MAX_TYPO_DISTANCE) <= MAX_TYPO_DISTANCE
        ):
            return ours.domain
        if any(_brand_in(x, ours.label) for x in label_skeletons):  # 4. brand in domain
            return ours.domain
    return None


def mentions_ours(text: str, our_domains: Sequence[str]) -> str | None:
    """Which of `our_domains` a display name names, by domain or by brand; None when it names none."""
    text_skeleton = skeleton(text[:MAX_TEXT])
    for ours in _ours(tuple(our_domains)):
        if ours.skeleton in text_skeleton or _brand_in(text_skeleton, ours.label):
            return ours.domain
    return None


def imitated_in_text(text: str, our_domains: Sequence[str]) -> str | None:
    """Which of `our_domains` a domain-like word in `text` imitates (rules 1–4), or None."""
    for found in _DOMAIN_IN_TEXT.finditer(text[:MAX_TEXT]):
        hit = imitated(found.group(0), our_domains)
        if hit is not None:
            return hit
    return None
