"""Telling the customer, in their thread and language, that something was removed from their text."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.i18n import DEFAULT_LOCALE, get_translator, normalise_locale
from kefu.inboxes.models import ChannelKind
from kefu.trust.labels import secret_labels

NOTICE = "secrets_redacted"


def notice_text(locale: str, kinds: list[str] | tuple[str, ...]) -> str:
    """The warning in `locale`: what was removed, that support never asks for it, what to do now."""
    t = get_translator(normalise_locale(locale) or DEFAULT_LOCALE)
    separator = "、" if t.locale.startswith("zh") else ", "
    names = separator.join(t.gettext(label) for label in secret_labels(list(kinds)))
    return t.gettext(
        "For your safety we removed what looks like your %(secrets)s from your message; our team cannot "
        "see it. Support never asks for seed phrases, private keys, passwords or verification codes: "
        "anyone who does is a scammer. If you shared it anywhere else, secure your account and move "
        "your funds now.",
        secrets=names,
    )


async def warn_customer(
    session: AsyncSession,
    conversation: Conversation,
    kinds: list[str] | tuple[str, ...],
    *,
    channel: ChannelKind,
) -> Message:
    """Append the warning as a system reply the customer sees (chat, My requests; email is separate)."""
    return await append_message(
        session,
        conversation,
        None,
        NewMessage(
            body=notice_text(conversation.locale, kinds), data={"notice": NOTICE, "kinds": list(kinds)}
        ),
        author=AuthorKind.SYSTEM,
        channel=channel,
    )
