"""Validating a request's form fields: the category's built-in schema plus its active admin fields.

The schema of a category is its pydantic form (`kefu.conversations.forms.FORMS`) extended with one
field per active admin-added field (`pydantic.create_model`); models are built once per field set.
Trading pairs are then checked against the exchange's list (skipped while the exchange is down).
Every error becomes a specific, translated message keyed like before: `form_fields.<name>`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationError, create_model
from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.forms import FORMS, PAIR_MAX_LENGTH, AwareDatetime, dump_form, normalise_pair
from kefu.conversations.states import Category
from kefu.core.errors import InvalidInput
from kefu.integrations.exchange.port import ExchangePort
from kefu.request_forms.exchange_lists import known_pairs
from kefu.request_forms.messages import field_message, translator_for
from kefu.request_forms.models import FieldKind
from kefu.request_forms.service import ExtraField, get_active_fields

# Defaults when an admin sets no max_length; the same caps as the built-in free-text fields.
TEXT_MAX_LENGTH: Final = 200
TEXTAREA_MAX_LENGTH: Final = 2000
# Integers beyond this are typing accidents, and JavaScript clients would round them.
INTEGER_LIMIT: Final = 10**15
PREFIX: Final = "form_fields."
MESSAGE: Final = "form fields are not valid for this category"


def _choice_check(values: frozenset[str]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in values:
            raise PydanticCustomError("kefu_choice_unknown", "not one of the options")
        return value

    return AfterValidator(check)


def _annotation(field: ExtraField) -> Any:
    """The pydantic type of an admin-added field."""
    least = 1 if field.required else 0
    if field.kind in (FieldKind.TEXT, FieldKind.TEXTAREA):
        default = TEXT_MAX_LENGTH if field.kind == FieldKind.TEXT else TEXTAREA_MAX_LENGTH
        longest = field.max_length or default
        return Annotated[str, StringConstraints(strip_whitespace=True, min_length=least, max_length=longest)]
    if field.kind == FieldKind.SELECT:
        values = frozenset(c.value for c in field.choices)
        return Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), _choice_check(values)]
    if field.kind == FieldKind.INTEGER:
        return Annotated[int, Field(ge=-INTEGER_LIMIT, le=INTEGER_LIMIT)]
    if field.kind == FieldKind.DECIMAL:
        return Annotated[Decimal, Field(max_digits=38, decimal_places=18, allow_inf_nan=False)]
    if field.kind == FieldKind.DATE:
        return date
    if field.kind == FieldKind.DATETIME:
        return AwareDatetime
    return bool  # CHECKBOX


@lru_cache(maxsize=128)
def extended_model(category: Category, fields: tuple[ExtraField, ...]) -> type[BaseModel]:
    """The category's built-in form with `fields` appended (cached per distinct field set)."""
    base = FORMS[category]
    if not fields:
        return base
    definitions: dict[str, Any] = {}
    for field in fields:
        kind = _annotation(field)
        definitions[field.name] = (kind, ...) if field.required else (kind | None, None)
    model: type[BaseModel] = create_model(f"{base.__name__}WithFields", __base__=base, **definitions)
    return model


@lru_cache(maxsize=128)
def lenient_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every required field optional: for keeping what still fits after a category change."""
    overrides: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            annotated = Annotated.__class_getitem__((info.annotation, *info.metadata))  # type: ignore[attr-defined]
            overrides[name] = (annotated | None, None)
    if not overrides:
        return model
    lenient: type[BaseModel] = create_model(f"{model.__name__}Lenient", __base__=model, **overrides)
    return lenient


async def form_model(session: AsyncSession, category: Category) -> type[BaseModel]:
    """The schema a request of `category` is validated against today."""
    return extended_model(category, await get_active_fields(session, category))


def _key(loc: tuple[int | str, ...]) -> str:
    return PREFIX + ".".join(str(part) for part in loc) if loc else PREFIX.rstrip(".")


def _pair_given(raw: dict[str, Any]) -> str | None:
    """The normalised pair of an otherwise invalid form, when the pair itself is well formed."""
    value = raw.get("pair")
    if not isinstance(value, str) or len(value) > PAIR_MAX_LENGTH:
        return None
    try:
        return normalise_pair(value)
    except PydanticCustomError:
        return None


async def check_form_fields(
    session: AsyncSession,
    category: Category,
    raw: Any,
    *,
    locale: str | None = "en",
    exchange: ExchangePort | None = None,
) -> dict[str, Any]:
    """Validated form fields as the JSON stored on the conversation, or InvalidInput.

    InvalidInput's `fields` maps `form_fields.<name>` to a message in `locale` (English for unknown
    locales). `exchange` defaults to the process's installed one; without any, pairs are not looked up.
    """
    t = translator_for(locale)
    if not isinstance(raw, dict):
        raise InvalidInput(MESSAGE, fields={"form_fields": field_message(t, "form_fields", "dict_type")})
    model = await form_model(session, category)
    fields: dict[str, str] = {}
    values: dict[str, Any] | None = None
    try:
        values = dump_form(model.model_validate(raw))
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            loc = tuple(error["loc"])
            name = str(loc[0]) if loc else ""
            fields.setdefault(_key(loc), field_message(t, name, error["type"], error.get("ctx")))
    if "pair" in model.model_fields and PREFIX + "pair" not in fields:
        pair = values.get("pair") if values is not None else _pair_given(raw)
        if isinstance(pair, str):
            listed = await known_pairs(exchange)
            if listed is not None and pair not in listed:
                fields[PREFIX + "pair"] = field_message(t, "pair", "kefu_pair_unknown")
    if fields or values is None:
        raise InvalidInput(MESSAGE, fields=fields)
    return values


async def refit_form_fields(
    session: AsyncSession, category: Category, stored: dict[str, Any]
) -> dict[str, Any]:
    """The stored values that fit `category`'s form (for a category change); the rest are dropped.

    Nothing is required here: an agent moving a conversation cannot supply a missing phone number.
    """
    model = lenient_model(await form_model(session, category))
    kept = {k: v for k, v in stored.items() if k in model.model_fields}
    for _attempt in range(len(kept) + 1):
        try:
            return dump_form(model.model_validate(kept))
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} & kept.keys()
            if not bad:
                return {}
            kept = {k: v for k, v in kept.items() if k not in bad}
    return {}
