"""The structured fields the bot collects before a handover, and checking one answer at a time.

Which fields: what support needs to find a trade or a transfer without a back-and-forth (pair, order
id, time, error; asset, network, tx hash). Names are those of the request forms, so the lead can
store them as the conversation's form fields. Each answer is checked by the request forms' own
validator together with the fields already collected (a tx hash is judged by the network given
before it), and a refusal carries that validator's translated message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.forms import dump_form, normalise_time_zone
from kefu.conversations.states import Category
from kefu.core.errors import InvalidInput
from kefu.integrations.exchange.port import ExchangePort
from kefu.request_forms.messages import FALLBACK, field_message, translator_for
from kefu.request_forms.validation import PREFIX, check_form_fields, form_model, lenient_model

# Asked in this order: a network comes before the tx hash whose shape depends on it.
PLANS: Final[dict[Category, tuple[str, ...]]] = {
    Category.TRADING: ("pair", "order_id", "occurred_at", "error_message"),
    Category.DEPOSIT: ("asset", "network", "tx_hash"),
    Category.WITHDRAWAL: ("asset", "network", "tx_hash"),
}
# Kept as typed: the agent wants the customer's words. Shape fields are NFKC-folded (full-width
# characters from a Chinese keyboard become ASCII) and lose inner spaces where they cannot have any.
FREE_TEXT: Final = frozenset({"error_message"})
NO_SPACES: Final = frozenset({"tx_hash", "pair"})

_DATE: Final = re.compile(r"^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?")
_ZONE_SUFFIX: Final = re.compile(
    r"(?<=\d)\s*(?P<zone>(?:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?|[+-]\d{1,2}:?\d{2}|UTC|GMT|Z)$", re.IGNORECASE
)


@dataclass(frozen=True)
class Checked:
    """One answer after validation: the stored value, or the message to show with the question again."""

    value: str | None
    error: str | None


def missing_fields(category: Category | None, collected: dict[str, str], skipped: list[str]) -> list[str]:
    """The category's fields not collected or skipped yet, in the order they are asked."""
    if category is None:
        return []
    return [name for name in PLANS.get(category, ()) if name not in collected and name not in skipped]


def tidy_time(answer: str) -> str:
    """`2026/1/31 14:30 UTC+8` → `2026-01-31 14:30+08:00`: the shapes people type, in ISO form."""
    text = answer.strip()
    date = _DATE.match(text)
    if date:
        year, month, day = date.groups()
        text = f"{year}-{int(month):02d}-{int(day):02d}" + text[date.end() :]
    zone = _ZONE_SUFFIX.search(text)
    if zone:
        try:
            offset = normalise_time_zone(re.sub(r"\s+", "", zone.group("zone")))
        except ValueError:  # PydanticCustomError is a ValueError: leave it for the validator to explain
            return text
        text = text[: zone.start()].rstrip() + ("+00:00" if offset == "UTC" else offset)
    return text


def tidy(name: str, answer: str) -> str:
    """The answer as the validator should see it (never changes what it means)."""
    if name in FREE_TEXT:
        return answer.strip()
    text = unicodedata.normalize("NFKC", answer).strip()
    if name in NO_SPACES:
        text = "".join(text.split())
    if name == "occurred_at":
        text = tidy_time(text)
    return text


async def check_answer(
    session: AsyncSession,
    category: Category,
    collected: dict[str, str],
    name: str,
    answer: str,
    *,
    locale: str,
    exchange: ExchangePort | None,
) -> Checked:
    """Validate `answer` as field `name` of `category`'s form, given the fields already collected."""
    t = translator_for(locale)
    value = tidy(name, answer)
    if not value:
        return Checked(None, field_message(t, name, "missing"))
    raw = {**collected, name: value}
    try:
        values = await check_form_fields(session, category, raw, locale=locale, exchange=exchange)
    except InvalidInput as exc:
        problem = (exc.fields or {}).get(PREFIX + name)
        if problem is not None:
            return Checked(None, problem)
        # Only other fields failed (an admin made a field the bot does not ask for required), so
        # this answer is valid: normalise it with the same schema, nothing required.
        try:
            model = lenient_model(await form_model(session, category))
            values = dump_form(model.model_validate(raw))
        except ValidationError:
            return Checked(None, t.gettext(FALLBACK))
    stored = values.get(name)
    if stored is None:
        return Checked(None, t.gettext(FALLBACK))
    return Checked(str(stored), None)
