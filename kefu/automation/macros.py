"""Macros (canned replies): the variable allowlist, validation on save, and rendering.

Variables are substituted by one allowlisted regex, not a template engine: a macro body can only
read the handful of values named below, never attributes or code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import Field, StringConstraints, TypeAdapter

from kefu.automation.models import Macro
from kefu.automation.rules import AddTags, SetPriority, SetStatus
from kefu.conversations.forms import FORMS
from kefu.conversations.models import Conversation
from kefu.core.errors import InvalidInput

MacroAction = Annotated[SetStatus | AddTags | SetPriority, Field(discriminator="type")]
MACRO_ACTIONS: TypeAdapter[list[MacroAction]] = TypeAdapter(list[MacroAction])
MacroBody = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]

# Anything between double braces is a variable reference and must be on the allowlist.
_VARIABLE = re.compile(r"\{\{(.{0,100}?)\}\}", re.DOTALL)
_FIXED = frozenset(
    {"customer.name", "customer.email", "conversation.reference", "conversation.subject", "agent.name"}
)
_FALLBACK_LOCALES = ("en",)


@cache
def form_field_names() -> frozenset[str]:
    """Every field name of every category's form (what `{{form.<field>}}` may name)."""
    return frozenset(name for form in FORMS.values() for name in form.model_fields)


def allowed_variable(name: str) -> bool:
    """Whether `{{name}}` is a known variable."""
    if name in _FIXED:
        return True
    prefix, _, rest = name.partition(".")
    return prefix == "form" and rest in form_field_names()


def unknown_variables(body: str) -> list[str]:
    """The variable references in `body` that are not on the allowlist (also unclosed `{{`)."""
    unknown = [
        m.group(1).strip() for m in _VARIABLE.finditer(body) if not allowed_variable(m.group(1).strip())
    ]
    if "{{" in _VARIABLE.sub("", body):
        unknown.append("{{")
    return unknown


def check_bodies(bodies: Mapping[str, str]) -> None:
    """InvalidInput naming each locale whose body uses an unknown variable."""
    problems = {
        f"bodies.{locale}": "unknown variables: " + ", ".join(sorted(set(bad)))[:300]
        for locale, body in bodies.items()
        if (bad := unknown_variables(body))
    }
    if problems:
        raise InvalidInput("the macro uses unknown variables", fields=problems)


@dataclass(frozen=True)
class RenderedMacro:
    text: str
    locale: str
    actions: list[dict[str, Any]]


def pick_locale(bodies: Mapping[str, str], locale: str) -> str:
    """The conversation's locale if the macro has it, else English, else any (the first)."""
    for candidate in (locale, *_FALLBACK_LOCALES):
        if bodies.get(candidate):
            return candidate
    for candidate, body in bodies.items():
        if body:
            return candidate
    raise InvalidInput("the macro has no text")


def _form_text(value: object) -> str:
    return "" if value is None else str(value)


def render_macro(
    macro: Macro,
    *,
    locale: str,
    conversation: Conversation,
    contact_name: str,
    contact_email: str,
    agent_name: str,
) -> RenderedMacro:
    """Fill `macro`'s body for `locale` (with fallback); unknown or missing values render empty."""
    bodies: Mapping[str, str] = macro.bodies
    chosen = pick_locale(bodies, locale)
    values = {
        "customer.name": contact_name,
        "customer.email": contact_email,
        "conversation.reference": conversation.reference,
        "conversation.subject": conversation.subject,
        "agent.name": agent_name,
    }
    form_fields: Mapping[str, object] = conversation.form_fields or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in values:
            return values[name]
        prefix, _, rest = name.partition(".")
        if prefix == "form" and rest in form_field_names():
            return _form_text(form_fields.get(rest))
        return ""  # stored before the allowlist changed: never echo the raw reference

    text = _VARIABLE.sub(substitute, bodies[chosen])
    actions = [a.model_dump(mode="json") for a in MACRO_ACTIONS.validate_python(list(macro.actions))]
    return RenderedMacro(text=text, locale=chosen, actions=actions)
