"""The "Submit a request" pages: a category picker, the category's form, and the confirmation.

The pages only render. `hc_request.js` posts the form to `POST /api/v1/conversations`, which is the one
place requests are validated; the inputs are derived from the category's pydantic form schema
(`kefu.conversations.forms.FORMS`) so a field an admin adds there appears here without template work.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from kefu.conversations.forms import FORMS
from kefu.conversations.states import Category
from kefu.i18n import Translator
from kefu.web.helpcenter.context import HC_PREFIX, HelpCenterDep, HelpCenterNotFound

router = APIRouter()

# What the API hands out (kefu.core.ids.new_reference); anything else in the URL is not shown.
REFERENCE_PATTERN: Final = re.compile(r"KF-\d{8}", re.ASCII)
# A select's choices written as a pattern, e.g. `^(buy|sell)$`.
_CHOICE_PATTERN: Final = re.compile(r"\^\(([\w|]+)\)\$", re.ASCII)
# Longer free-text fields get a textarea.
_TEXTAREA_MIN_LENGTH: Final = 500
# Offsets offered next to a date and time (the script preselects the browser's own).
TIME_ZONE_OFFSETS: Final = tuple(
    f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    for minutes in sorted({h * 60 for h in range(-12, 15)} | {-210, 210, 270, 330, 345, 390, 570, 630})
)
ORDER: Final = (
    Category.TRADING,
    Category.DEPOSIT,
    Category.WITHDRAWAL,
    Category.ACCOUNT_ACCESS,
    Category.KYC,
    Category.SECURITY,
    Category.GENERAL,
)

InputKind = Literal["text", "textarea", "select", "datetime", "decimal", "integer", "email"]


@dataclass(frozen=True)
class FormInput:
    """One input of a category's form, as the template draws it."""

    name: str
    kind: InputKind
    label: str
    help: str
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None


def category_texts(t: Translator) -> dict[Category, tuple[str, str]]:
    """Each request category's name and one-line description, in the reader's language."""
    _ = t.gettext
    return {
        Category.TRADING: (
            _("Trading problem"),
            _("An order, a trade or a trading pair did not behave as expected."),
        ),
        Category.DEPOSIT: (_("Deposit not credited"), _("A deposit has not arrived in your account.")),
        Category.WITHDRAWAL: (
            _("Withdrawal problem"),
            _("A withdrawal is delayed, failed or went to the wrong place."),
        ),
        Category.ACCOUNT_ACCESS: (_("Account access"), _("You cannot sign in, or your account is locked.")),
        Category.KYC: (_("Identity verification"), _("Questions about verifying your identity.")),
        Category.SECURITY: (
            _("Security report"),
            _("Report a suspicious message, contact or account activity."),
        ),
        Category.GENERAL: (_("General question"), _("Anything else.")),
    }


def field_texts(t: Translator) -> dict[str, tuple[str, str]]:
    """Label and help text of each form field by name, in the reader's language."""
    _ = t.gettext
    return {
        "uid": (_("Your UID"), _("The user ID shown in your account profile.")),
        "login_email": (_("Sign-in email"), _("The email address you sign in with.")),
        "locked_at": (_("When the account was locked"), ""),
        "error_message": (_("Error message"), _("Copy the message exactly as it appeared.")),
        "kyc_level": (_("Verification level"), _("A number from 0 to 5.")),
        "rejection_reason": (_("Reason given for the rejection"), ""),
        "order_id": (_("Order ID"), _("Letters, digits, dashes and underscores.")),
        "pair": (_("Trading pair"), _("For example BTC/USDT.")),
        "side": (_("Side"), ""),
        "occurred_at": (_("When it happened"), _("Date, time and your time zone.")),
        "asset": (_("Asset"), _("For example USDT.")),
        "network": (_("Network"), _("For example TRC20 or ERC20.")),
        "amount": (_("Amount"), ""),
        "tx_hash": (_("Transaction hash (TxID)"), _("Find it in your wallet or on a block explorer.")),
        "address": (_("Address"), _("The deposit or withdrawal address.")),
        "memo": (_("Memo or tag"), _("Only if the network uses one.")),
        "withdrawal_id": (_("Withdrawal ID"), ""),
        "suspicious_contact": (
            _("Suspicious contact"),
            _("Who contacted you and how: a phone number, an account name or a link."),
        ),
    }


def choice_texts(t: Translator) -> dict[str, str]:
    """Names of select choices by value, in the reader's language."""
    _ = t.gettext
    return {"buy": _("Buy"), "sell": _("Sell")}


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The base type of an optional, possibly Annotated field type, with its metadata."""
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        annotation = options[0] if len(options) == 1 else str
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        metadata.extend(extra)
        annotation = base
    return annotation, metadata


def _input_for(name: str, annotation: Any, t: Translator) -> FormInput:
    base, metadata = _unwrap(annotation)
    label, help_text = field_texts(t).get(name, (name.replace("_", " ").capitalize(), ""))
    choices_names = choice_texts(t)
    pattern = next((m.pattern for m in metadata if isinstance(getattr(m, "pattern", None), str)), None)
    max_length = next(
        (m.max_length for m in metadata if isinstance(getattr(m, "max_length", None), int)), None
    )
    values: list[str] = []
    if isinstance(base, type) and issubclass(base, Enum):
        values = [str(member.value) for member in base]
    elif get_origin(base) is Literal:
        values = [str(v) for v in get_args(base)]
    elif pattern and (match := _CHOICE_PATTERN.fullmatch(pattern)):
        values = match.group(1).split("|")
    kind: InputKind
    if values:
        kind = "select"
    elif base is datetime:
        kind = "datetime"
    elif base is Decimal:
        kind = "decimal"
    elif base is int:
        kind = "integer"
    elif max_length is not None and max_length >= _TEXTAREA_MIN_LENGTH:
        kind = "textarea"
    else:
        kind = "text"
    return FormInput(
        name=name,
        kind=kind,
        label=label,
        help=help_text,
        choices=tuple((v, choices_names.get(v, v)) for v in values),
        max_length=max_length,
    )


def form_inputs(form: type[BaseModel], t: Translator) -> list[FormInput]:
    """The inputs of a category form schema, in declaration order."""
    return [_input_for(name, info.annotation, t) for name, info in form.model_fields.items()]


@router.get(HC_PREFIX + "/{locale}/requests/new")
async def new_request(hc: HelpCenterDep, category: Annotated[str | None, Query()] = None) -> Response:
    """Anyone: pick a category, then that category's request form (posted by hc_request.js)."""
    texts = category_texts(hc.t)
    if not category:
        picker = [(c.value, *texts[c]) for c in ORDER]
        return hc.render("hc/request_new.html", public=False, picker=picker, chosen=None)
    try:
        chosen = Category(category)
    except ValueError:
        raise HelpCenterNotFound(category[:20]) from None
    name, description = texts[chosen]
    return hc.render(
        "hc/request_new.html",
        public=False,
        picker=None,
        chosen=chosen.value,
        category_name=name,
        category_description=description,
        inputs=form_inputs(FORMS[chosen], hc.t),
        offsets=TIME_ZONE_OFFSETS,
    )


@router.get(HC_PREFIX + "/{locale}/requests/submitted")
async def request_submitted(hc: HelpCenterDep, reference: Annotated[str | None, Query()] = None) -> Response:
    """Anyone: the thank-you page with the request's `KF-` reference (shown only if well formed)."""
    shown = reference if reference and REFERENCE_PATTERN.fullmatch(reference) else None
    return hc.render("hc/request_submitted.html", public=False, reference=shown)
