"""The "Submit a request" pages: a category picker, the category's form, and the confirmation.

The pages only render. `hc_request.js` posts the form to `POST /api/v1/conversations`, which is the one
place requests are validated; the inputs are derived from the category's pydantic form schema
(`kefu.conversations.forms.FORMS`) followed by the fields admins added to the category
(`kefu.request_forms`), so neither needs template work.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import phonenumbers
from babel import Locale
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kefu.conversations.forms import FORMS, InputHint
from kefu.conversations.states import Category
from kefu.i18n import Translator, babel_identifier
from kefu.request_forms.exchange_lists import known_networks
from kefu.request_forms.models import FieldKind
from kefu.request_forms.service import ExtraField, get_active_fields
from kefu.web.deps import DbSession, RuntimeDep
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
# A prefilled value for an input without its own limit.
PREFILL_MAX_LENGTH: Final = 2000
ORDER: Final = (
    Category.TRADING,
    Category.DEPOSIT,
    Category.WITHDRAWAL,
    Category.ACCOUNT_ACCESS,
    Category.KYC,
    Category.SECURITY,
    Category.CALLBACK,
    Category.GENERAL,
)
# Offered in the time-zone box of the callback form; any IANA name or UTC offset is accepted.
COMMON_TIME_ZONES: Final = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/London",
    "Africa/Lagos",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)

InputKind = Literal[
    "text",
    "textarea",
    "select",
    "datetime",
    "date",
    "time",
    "decimal",
    "integer",
    "email",
    "tel",
    "region",
    "timezone",
    "network",
    "checkbox",
]
_HINTED: Final[dict[str, InputKind]] = {"tel": "tel", "region": "region", "timezone": "timezone"}
_EXTRA_KINDS: Final[dict[FieldKind, InputKind]] = {
    FieldKind.TEXT: "text",
    FieldKind.TEXTAREA: "textarea",
    FieldKind.SELECT: "select",
    FieldKind.INTEGER: "integer",
    FieldKind.DECIMAL: "decimal",
    FieldKind.DATE: "date",
    FieldKind.DATETIME: "datetime",
    FieldKind.CHECKBOX: "checkbox",
}


@dataclass(frozen=True)
class FormInput:
    """One input of a category's form, as the template draws it."""

    name: str
    kind: InputKind
    label: str
    help: str
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    required: bool = False
    # Suggestions for a text box (networks, time zones): the reader may still type anything.
    suggestions: tuple[str, ...] = ()


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
        Category.CALLBACK: (
            _("Request a call back"),
            _("Leave your number and a time that suits you, and we will call you."),
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
        "steps_taken": (_("What you have tried"), _("For example: cancelled and placed the order again.")),
        "phone_region": (
            _("Country or region of the number"),
            _("Only needed if the number does not start with + and the country code."),
        ),
        "phone": (_("Phone number"), _("We call this number. For example +86 138 0013 8000.")),
        "preferred_date": (_("Preferred date"), ""),
        "window_from": (_("Call me from"), _("In your time zone.")),
        "window_to": (_("Call me until"), _("In your time zone.")),
        "time_zone": (_("Your time zone"), _("For example Asia/Shanghai or +08:00.")),
        "language": (_("Language for the call"), ""),
        "topic": (_("What the call is about"), ""),
    }


def choice_texts(t: Translator) -> dict[str, str]:
    """Names of select choices by value, in the reader's language (languages in themselves)."""
    _ = t.gettext
    return {"buy": _("Buy"), "sell": _("Sell"), "en": "English", "zh-CN": "简体中文"}


@lru_cache(maxsize=4)
def region_choices(locale: str) -> tuple[tuple[str, str], ...]:
    """Every region phone numbers are known for, named in `locale` with its calling code, by name."""
    names = Locale.parse(babel_identifier(locale)).territories
    options = [
        (code, f"{names.get(code, code)} (+{phonenumbers.country_code_for_region(code)})")
        for code in phonenumbers.SUPPORTED_REGIONS
    ]
    return tuple(sorted(options, key=lambda option: option[1]))


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


def _input_for(name: str, info: FieldInfo, t: Translator) -> FormInput:
    base, metadata = _unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    label, help_text = field_texts(t).get(name, (name.replace("_", " ").capitalize(), ""))
    hint = next((m.kind for m in metadata if isinstance(m, InputHint)), None)
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
    if hint is not None:
        kind = _HINTED[hint]
    elif values:
        kind = "select"
    elif base is datetime:
        kind = "datetime"
    elif base is date:
        kind = "date"
    elif base is time:
        kind = "time"
    elif base is Decimal:
        kind = "decimal"
    elif base is int:
        kind = "integer"
    elif max_length is not None and max_length >= _TEXTAREA_MIN_LENGTH:
        kind = "textarea"
    else:
        kind = "text"
    choices = tuple((v, choices_names.get(v, v)) for v in values)
    return FormInput(
        name=name,
        kind=kind,
        label=label,
        help=help_text,
        choices=region_choices(t.locale) if kind == "region" else choices,
        max_length=max_length,
        required=info.is_required(),
        suggestions=COMMON_TIME_ZONES if kind == "timezone" else (),
    )


def form_inputs(form: type[BaseModel], t: Translator, *, networks: tuple[str, ...] = ()) -> list[FormInput]:
    """The inputs of a category form schema, in declaration order (`networks`: the exchange's)."""
    inputs = [_input_for(name, info, t) for name, info in form.model_fields.items()]
    return [
        replace(i, kind="network", suggestions=networks) if i.name == "network" and networks else i
        for i in inputs
    ]


def extra_inputs(fields: tuple[ExtraField, ...], locale: str) -> list[FormInput]:
    """The inputs of the fields admins added, labelled in `locale` (the other language as fallback)."""
    return [
        FormInput(
            name=field.name,
            kind=_EXTRA_KINDS[field.kind],
            label=field.label(locale),
            help=field.help(locale),
            choices=tuple((c.value, c.label(locale)) for c in field.choices),
            max_length=field.max_length,
            required=field.required,
        )
        for field in fields
    ]


def prefilled(request: Request, inputs: list[FormInput]) -> dict[str, str]:
    """Values a link may fill in (e.g. the verify page's "report this impersonator"): one line each,
    cut to the input's length; the customer still sees and submits them."""
    by_name = {i.name: i for i in inputs if i.kind in ("text", "textarea", "tel")}
    values: dict[str, str] = {}
    for name, value in request.query_params.items():
        field = by_name.get(name)
        if field is not None and value.isprintable():
            values[name] = value[: field.max_length or PREFILL_MAX_LENGTH]
    return values


@router.get(HC_PREFIX + "/{locale}/requests/new")
async def new_request(
    request: Request,
    hc: HelpCenterDep,
    session: DbSession,
    runtime: RuntimeDep,
    category: Annotated[str | None, Query()] = None,
) -> Response:
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
    form = FORMS[chosen]
    networks = await known_networks(runtime.exchange) if "network" in form.model_fields else ()
    inputs = form_inputs(form, hc.t, networks=networks)
    inputs += extra_inputs(await get_active_fields(session, chosen), hc.locale)
    return hc.render(
        "hc/request_new.html",
        public=False,
        picker=None,
        chosen=chosen.value,
        category_name=name,
        category_description=description,
        inputs=inputs,
        prefill=prefilled(request, inputs),
        offsets=TIME_ZONE_OFFSETS,
    )


@router.get(HC_PREFIX + "/{locale}/requests/submitted")
async def request_submitted(hc: HelpCenterDep, reference: Annotated[str | None, Query()] = None) -> Response:
    """Anyone: the thank-you page with the request's `KF-` reference (shown only if well formed)."""
    shown = reference if reference and REFERENCE_PATTERN.fullmatch(reference) else None
    return hc.render("hc/request_submitted.html", public=False, reference=shown)
