"""Console settings for the help center's request forms: added fields and deflection counts.

Supervisors and administrators only (other agents get the 404 page, like the other supervisor
sections). The page reads; `form_settings.js` saves through `/api/v1/request-forms/fields`.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import Response

from kefu.conversations.forms import FORMS
from kefu.conversations.states import Category
from kefu.core.clock import utcnow
from kefu.request_forms.deflection import REPORT_DAYS, count_deflections
from kefu.request_forms.models import FieldKind
from kefu.request_forms.schemas import MAX_CHOICES, MAX_FIELD_LENGTH, FieldOut
from kefu.request_forms.service import list_fields
from kefu.web.console.context import ConsoleDep
from kefu.web.console.settings import SETTINGS_PATH, require_supervisor, sections
from kefu.web.deps import DbSession
from kefu.web.helpcenter.requests import ORDER, category_texts

router = APIRouter()

FORM_SETTINGS_PATH: Final = f"{SETTINGS_PATH}/forms"


def kind_labels(console: ConsoleDep) -> dict[str, str]:
    """The kinds of field an admin may add, as agents read them."""
    t = console.page.t
    return {
        FieldKind.TEXT: t.gettext("Short text"),
        FieldKind.TEXTAREA: t.gettext("Long text"),
        FieldKind.SELECT: t.gettext("Choice from a list"),
        FieldKind.INTEGER: t.gettext("Whole number"),
        FieldKind.DECIMAL: t.gettext("Decimal number"),
        FieldKind.DATE: t.gettext("Date"),
        FieldKind.DATETIME: t.gettext("Date and time"),
        FieldKind.CHECKBOX: t.gettext("Checkbox"),
    }


@router.get(FORM_SETTINGS_PATH)
async def form_settings(console: ConsoleDep, session: DbSession) -> Response:
    """Supervisors: each category's built-in and added fields; deflections in the last 30 days."""
    require_supervisor(console)
    names = category_texts(console.page.t)
    fields = [FieldOut.model_validate(row) for row in await list_fields(session)]
    categories = [
        {
            "value": category.value,
            "name": names[category][0],
            "built_in": list(FORMS[category].model_fields),
            "fields": [f for f in fields if f.category == category],
        }
        for category in ORDER
    ]
    report = await count_deflections(session, now=utcnow(), days=REPORT_DAYS)
    return console.render(
        "console/form_settings.html",
        sections=sections(console, "forms"),
        current="forms",
        categories=categories,
        category_choices=[(c.value, names[c][0]) for c in ORDER if c in Category],
        kinds=kind_labels(console),
        report=report,
        max_choices=MAX_CHOICES,
        max_field_length=MAX_FIELD_LENGTH,
    )
