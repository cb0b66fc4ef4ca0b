"""The reply to /start: who answers here, what support never asks for, where to check official channels.

Sent straight through the Bot API and not stored: pressing Start is not a support request, so it
opens no conversation; the customer's first real message does. Phishers copy support bots' names and
avatars, so the greeting says how to check this one against the help center's list of official channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kefu.i18n import SUPPORTED_LOCALES, get_translator, normalise_locale

MAX_BRAND_CHARS: Final = 60


def verify_url(base_url: str, locale: str) -> str:
    """The help center's page for checking that a link, account or bot is official."""
    return f"{base_url.rstrip('/')}/hc/{locale}/verify"


def greeting_text(locale: str | None, base_url: str, config: Mapping[str, object]) -> str:
    """The greeting in the customer's language (en or zh-CN; English for the rest)."""
    chosen = normalise_locale(locale) or "en"
    if chosen not in SUPPORTED_LOCALES:
        chosen = "en"
    t = get_translator(chosen)
    brand = config.get("brand")
    if isinstance(brand, str) and brand.strip():
        hello = t.gettext(
            "Hello! This is the official %(brand)s support bot. Write your question here and a support "
            "agent will answer you in this chat.",
            brand=brand.strip()[:MAX_BRAND_CHARS],
        )
    else:
        hello = t.gettext(
            "Hello! This is the official support bot. Write your question here and a support agent "
            "will answer you in this chat."
        )
    warning = t.gettext(
        "Support will never ask for your password, 2FA codes or seed phrase, and never asks you to "
        "send funds. Do not share them with anyone, including us."
    )
    check = t.gettext(
        "Check that you are talking to an official channel: %(url)s", url=verify_url(base_url, chosen)
    )
    return "\n\n".join((hello, warning, check))
