"""Languages: which locales Kefu speaks, how a request's locale is chosen, and message lookup.

Catalogs live in `kefu/locale/<ll_CC>/LC_MESSAGES/messages.{po,mo}` and are read once per process.
Public locale tags are BCP 47 ("zh-CN"); Babel and the directory names use POSIX ids ("zh_CN").
This module knows nothing about the web framework: `kefu.web.templating` hooks it into Jinja2.
How to add a string or a locale: docs/i18n.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from babel.support import Translations

SUPPORTED_LOCALES: Final = ("en", "zh-CN")
DEFAULT_LOCALE: Final = "en"
LOCALE_COOKIE: Final = "kefu_locale"
LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"

# Every Chinese variant goes to the Simplified catalog: until a Traditional one exists it serves a
# zh-TW or zh-HK reader better than English does.
_LANGUAGE_TO_LOCALE: Final = {"en": "en", "zh": "zh-CN"}
# RFC 5646 allows longer tags in theory; nothing we could match is longer than this.
_MAX_TAG_LENGTH: Final = 35
_TAG_RE: Final = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")
_QUALITY_RE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
# Browsers send a handful of entries; anything beyond these bounds is noise or an attack.
_MAX_HEADER_LENGTH: Final = 1024
_MAX_ENTRIES: Final = 32


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    """Mark a msgid for extraction; it is translated later, in the reader's locale."""
    return message


def normalise_locale(tag: str | None) -> str | None:
    """The supported locale a language tag maps to ("zh-TW" -> "zh-CN", "en-GB" -> "en"), else None."""
    if not tag or len(tag) > _MAX_TAG_LENGTH or not _TAG_RE.fullmatch(tag):
        return None
    language = re.split(r"[-_]", tag, maxsplit=1)[0].lower()
    return _LANGUAGE_TO_LOCALE.get(language)


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QUALITY_RE.fullmatch(value) else 0.0
    return 1.0


def parse_accept_language(header: str | None) -> list[str]:
    """The acceptable tags of an Accept-Language header, most preferred first (q=0 and junk dropped)."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate(header[:_MAX_HEADER_LENGTH].split(",")[:_MAX_ENTRIES]):
        tag, *params = (part.strip() for part in entry.split(";"))
        quality = _quality(params)
        if quality > 0 and (tag == "*" or _TAG_RE.fullmatch(tag)):
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(*, explicit: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The locale to answer in: an explicit choice, else the remembered cookie, else the browser's."""
    for choice in (explicit, cookie):
        found = normalise_locale(choice)
        if found is not None:
            return found
    for tag in parse_accept_language(accept_language):
        if tag == "*":
            return DEFAULT_LOCALE
        found = normalise_locale(tag)
        if found is not None:
            return found
    return DEFAULT_LOCALE


def babel_identifier(locale: str) -> str:
    """The POSIX id Babel and the catalog directories use ("zh-CN" -> "zh_CN")."""
    return locale.replace("-", "_")


@dataclass(frozen=True)
class Translator:
    """Message lookup for one locale. Placeholders use Python's `%(name)s`, as in the templates."""

    locale: str
    translations: Translations

    def gettext(self, message: str, **variables: object) -> str:
        """`message` translated, with `variables` substituted when given."""
        text = self.translations.gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, num: int, **variables: object) -> str:
        """The plural form for `num`, translated; `%(num)d` is always available."""
        return self.translations.ngettext(singular, plural, num) % {"num": num, **variables}


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def get_translator(locale: str) -> Translator:
    """The translator of a supported locale, loaded from its compiled catalog once per process.

    Precondition: `locale` is one of SUPPORTED_LOCALES (use `negotiate_locale` first).
    """
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    loaded = Translations.load(str(LOCALE_DIR), [babel_identifier(locale)], DOMAIN)
    if not isinstance(loaded, Translations):
        # A missing .mo would silently show English to Chinese readers: refuse to start instead.
        raise RuntimeError(f"no compiled catalog for {locale}; run `python -m kefu.i18n_build compile`")
    return Translator(locale, loaded)
