"""Render a template into subject, plain text and HTML in the recipient's language.

Mail has its own Jinja environment (it never imports kefu.web): HTML templates autoescape, text
templates do not (nothing in them is interpreted). Translation goes through `kefu.i18n` with the
same newstyle gettext as the web pages, so placeholders in HTML are escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from kefu.i18n import DEFAULT_LOCALE, babel_identifier, get_translator, normalise_locale
from kefu.mail.headers import one_line
from kefu.mail.specs import SUBJECT_FIELD_LIMIT, TemplateSpec

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    """A rendered email before it becomes a MIME message; `subject` is one line without the reference."""

    subject: str
    text: str
    html: str
    locale: str


@pass_context
def _gettext(context: Context, message: str) -> str:
    return get_translator(context["locale"]).translations.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int) -> str:
    return get_translator(context["locale"]).translations.ngettext(singular, plural, num)


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """The process-wide mail template environment (templates are compiled once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    install: Callable[..., None] = env.install_gettext_callables  # type: ignore[attr-defined]
    install(_gettext, _ngettext, newstyle=True)
    return env


def format_due(value: str, time_zone: str, locale: str) -> str:
    """An ISO 8601 date-time as the reader's date and time in `time_zone`, naming the zone."""
    moment = datetime.fromisoformat(value)
    zone = ZoneInfo(time_zone)
    babel_locale = babel_identifier(locale)
    date = format_skeleton("yMMMEd", moment, tzinfo=zone, locale=babel_locale)
    time = format_skeleton("Hm", moment, tzinfo=zone, locale=babel_locale)
    return f"{date} {time} ({time_zone})"


def render(
    spec: TemplateSpec, locale: str, context: Mapping[str, Any], anti_phishing_code: str | None = None
) -> Rendered:
    """Subject, text and HTML of `spec` for a checked `context` (see TemplateSpec.check_context)."""
    locale = normalise_locale(locale) or DEFAULT_LOCALE
    t = get_translator(locale)
    values = dict(context)
    for key in spec.subject_fields:
        values[key] = one_line(str(values[key]), SUBJECT_FIELD_LIMIT) or t.gettext("(no subject)")
    subject_values = {key: values[key] for key in spec.subject_fields}
    subject = one_line(t.gettext(spec.subject, **subject_values), 2 * SUBJECT_FIELD_LIMIT)
    for moment_key in ("first_response_due", "changed_at"):
        if values.get(moment_key):
            values[moment_key] = format_due(values[moment_key], values.get("time_zone", "UTC"), locale)
    if "transcript" in values:
        zone = values.get("time_zone", "UTC")
        values["transcript"] = [
            line | {"at": format_due(line["at"], zone, locale)} for line in values["transcript"]
        ]
    variables = {
        **values,
        "locale": locale,
        "subject_line": subject,
        "anti_phishing_code": anti_phishing_code,
    }
    env = get_environment()
    text = env.get_template(f"{spec.name}.txt").render(variables)
    html = env.get_template(f"{spec.name}.html").render(variables)
    return Rendered(subject=subject, text=text, html=html, locale=locale)
