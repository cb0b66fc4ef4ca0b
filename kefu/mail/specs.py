"""The registry of email templates: name → subject msgid, context keys and how each value is checked.

Adding a template: write `kefu/mail/templates/<name>.html` and `<name>.txt` (both extend the base
layouts), add a `TemplateSpec` below, add its strings to the catalogs (docs/i18n.md) and a test.
Context values are plain JSON: they travel in the outbox payload and are rendered when the job runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from kefu.core.ids import REFERENCE_RE
from kefu.i18n import N_
from kefu.mail.headers import one_line
from kefu.schedules.calendar import check_timezone

MAX_URL_LENGTH: Final = 2000
MAX_TEXT_LENGTH: Final = 1000
MAX_MESSAGE_TEXT_LENGTH: Final = 20_000
# Customer text shown in a Subject header or a one-line slot of the body.
SUBJECT_FIELD_LIMIT: Final = 120
MAX_ANTI_PHISHING_LENGTH: Final = 40

Check = Callable[[Any], Any]


def check_code(value: Any) -> str:
    """Six digits, as a string (leading zeros matter)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{6}", value):
        raise ValueError("code must be a string of 6 digits")
    return value


def check_url(value: Any) -> str:
    """An absolute http(s) URL without spaces or control characters (never javascript: or data:)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL_LENGTH:
        raise ValueError(f"a URL is a string of 1..{MAX_URL_LENGTH} characters")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError("a URL cannot contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a URL must be absolute http(s)")
    return value


def check_minutes(value: Any) -> int:
    """A whole number of minutes, 1..1440."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        raise ValueError("minutes must be an integer in 1..1440")
    return value


def check_reference(value: Any) -> str:
    """A public `KF-` conversation reference."""
    if not isinstance(value, str) or not REFERENCE_RE.fullmatch(value):
        raise ValueError("reference must look like KF-12345678")
    return value


def check_text(value: Any) -> str:
    """Customer text of at most 1000 characters (it is escaped, and folded to one line where needed)."""
    if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH:
        raise ValueError(f"text must be a string of at most {MAX_TEXT_LENGTH} characters")
    return value


def check_message_text(value: Any) -> str:
    """A reply's text: up to 20,000 characters, several lines (escaped in HTML, kept as typed in text)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_MESSAGE_TEXT_LENGTH:
        raise ValueError(f"a message is 1..{MAX_MESSAGE_TEXT_LENGTH} characters")
    return value.replace("\r\n", "\n").replace("\r", "\n")


def check_reply_text(value: Any) -> str:
    """A reply's text, which may be empty when the reply is only files."""
    return "" if value == "" else check_message_text(value)


def check_file_names(value: Any) -> list[str]:
    """Names of files sent with a reply (shown, not attached): at most 20 one-line names."""
    if not isinstance(value, list) or len(value) > 20:
        raise ValueError("files is a list of at most 20 names")
    names = []
    for name in value:
        if not isinstance(name, str) or not 0 < len(name) <= 255 or not name.isprintable():
            raise ValueError("a file name is 1..255 printable characters")
        names.append(name)
    return names


def check_optional_datetime(value: Any) -> str | None:
    """None, or an ISO 8601 date-time with a UTC offset."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError("expected an ISO 8601 date-time with a time zone offset, or null")
    return parsed.isoformat()


def check_changed_at(value: Any) -> str:
    """When something changed: an ISO 8601 date-time with a time zone offset."""
    checked = check_optional_datetime(value)
    if checked is None:
        raise ValueError("changed_at is required")
    return checked


def check_time_zone(value: Any) -> str:
    """An IANA time zone name such as "Asia/Shanghai"."""
    if not isinstance(value, str):
        raise ValueError("time_zone must be an IANA name")
    check_timezone(value)
    return value


MAX_TRANSCRIPT_LINES: Final = 500


def check_transcript(value: Any) -> list[dict[str, str]]:
    """A chat transcript: up to 500 {author, at (ISO date-time), body} entries, in order."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_TRANSCRIPT_LINES:
        raise ValueError(f"transcript is a list of 1..{MAX_TRANSCRIPT_LINES} entries")
    lines = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"author", "at", "body"}:
            raise ValueError("a transcript entry is {author, at, body}")
        author = entry["author"]
        if not isinstance(author, str) or not 0 < len(author) <= 200 or not author.isprintable():
            raise ValueError("a transcript author is 1..200 printable characters")
        at = check_optional_datetime(entry["at"])
        if at is None:
            raise ValueError("a transcript entry needs its time")
        lines.append({"author": author, "at": at, "body": check_message_text(entry["body"])})
    return lines


def check_secret_labels(value: Any) -> list[str]:
    """Names of redacted kinds of secret, as the msgids of kefu.trust.labels (translated when rendered)."""
    from kefu.trust.labels import SECRET_LABELS  # the trust domain imports mail's outbox in turn

    known = set(SECRET_LABELS.values())
    if not isinstance(value, list) or not 0 < len(value) <= len(known) or not set(value) <= known:
        raise ValueError("labels is a non-empty list of known secret labels")
    return list(value)


def check_days(value: Any) -> int:
    """A whole number of days, 1..3650."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise ValueError("days must be an integer in 1..3650")
    return value


def check_recovery_outcome(value: Any) -> str:
    """The decision of an account recovery: "approved" or "rejected"."""
    if value not in ("approved", "rejected"):
        raise ValueError('outcome is "approved" or "rejected"')
    return str(value)


def check_recovery_text(value: Any) -> str:
    """A reason or hold text of kefu.recovery.reasons (an English msgid, translated when rendered)."""
    from kefu.recovery.reasons import CUSTOMER_TEXTS  # recovery queues mail through the outbox in turn

    if not isinstance(value, str) or value not in CUSTOMER_TEXTS:
        raise ValueError("not a known account recovery text")
    return value


def check_optional_recovery_text(value: Any) -> str | None:
    """None, or a text of kefu.recovery.reasons."""
    return None if value is None else check_recovery_text(value)


def check_e164(value: Any) -> str:
    """A phone number in E.164 form ("+6561234567")."""
    if not isinstance(value, str) or not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):
        raise ValueError("a phone number is written in E.164 form")
    return value


def check_last_digits(value: Any) -> str:
    """The last four digits of a phone number."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}", value):
        raise ValueError("number_ending is four digits")
    return value


def check_optional_text(value: Any) -> str | None:
    """None, or text as check_text."""
    return None if value is None else check_text(value)


def check_address_text(value: Any) -> str:
    """An email address shown in the body (1..254 characters on one line; not a recipient)."""
    if not isinstance(value, str) or not 0 < len(value) <= 254:
        raise ValueError("an address is a string of 1..254 characters")
    return one_line(value, 254)


def check_person_name(value: Any) -> str:
    """A person's display name (1..200 characters), folded to one line."""
    if not isinstance(value, str):
        raise ValueError("a name is a string")
    folded = one_line(value, 200)
    if not folded:
        raise ValueError("a name is 1..200 characters")
    return folded


def check_old_or_new(value: Any) -> str:
    """Which side of a change the recipient is on: "old" or "new"."""
    if value not in ("old", "new"):
        raise ValueError('recipient is "old" or "new"')
    return str(value)


@dataclass(frozen=True)
class TemplateSpec:
    """One email: its subject msgid and every context key it takes."""

    name: str
    # English msgid; `%(key)s` placeholders are filled from the keys in `subject_fields`.
    subject: str
    required: Mapping[str, Check]
    optional: Mapping[str, tuple[Check, Any]] = field(default_factory=dict)  # key -> (check, default)
    # Customer text that appears in the Subject: folded to one line and capped before use.
    subject_fields: tuple[str, ...] = ()
    # Automatic notifications carry `Auto-Submitted: auto-generated` (RFC 3834): no auto-replies.
    automatic: bool = True
    # Removed from the outbox row once sent: a database dump must not yield usable codes or links.
    secret_fields: tuple[str, ...] = ()
    # Context key holding the minutes the email stays useful: past that it is dropped, not sent late.
    lifetime_field: str | None = None

    def check_context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The context with defaults filled in; ValueError for a missing, unknown or malformed key."""
        if not isinstance(context, Mapping):
            raise ValueError("context must be a mapping")
        missing = sorted(set(self.required) - set(context))
        unknown = sorted(set(context) - set(self.required) - set(self.optional))
        if missing:
            raise ValueError(f"template {self.name!r} needs context keys {missing}")
        if unknown:
            raise ValueError(f"template {self.name!r} does not take context keys {unknown}")
        checked: dict[str, Any] = {}
        for key, check in self.required.items():
            checked[key] = _checked(key, check, context[key])
        for key, (check, default) in self.optional.items():
            checked[key] = _checked(key, check, context[key]) if key in context else default
        return checked


def _checked(key: str, check: Check, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise ValueError(f"context key {key!r}: {exc}") from None


TEMPLATES: Final[dict[str, TemplateSpec]] = {
    spec.name: spec
    for spec in (
        TemplateSpec(
            name="customer_sign_in",
            subject=N_("Your sign-in code"),
            required={"code": check_code, "link": check_url, "minutes": check_minutes},
            secret_fields=("code", "link"),
            lifetime_field="minutes",
        ),
        TemplateSpec(
            name="agent_reply",
            subject=N_("Re: %(subject)s"),
            required={"reference": check_reference, "subject": check_text, "body": check_reply_text},
            optional={"requests_url": (check_url, None), "files": (check_file_names, [])},
            subject_fields=("subject",),
            # A person wrote it: an auto-responder may answer it like any mail.
            automatic=False,
        ),
        TemplateSpec(
            name="chat_transcript",
            subject=N_("Your chat transcript: %(subject)s"),
            required={"reference": check_reference, "subject": check_text, "transcript": check_transcript},
            optional={"time_zone": (check_time_zone, "UTC")},
            subject_fields=("subject",),
        ),
        TemplateSpec(
            name="secret_redacted",
            subject=N_("We removed sensitive information from your message (%(reference)s)"),
            required={"reference": check_reference, "labels": check_secret_labels},
            optional={"requests_url": (check_url, None)},
            subject_fields=("reference",),
        ),
        TemplateSpec(
            name="identity_code",
            subject=N_("Your identity verification code for %(reference)s"),
            required={"reference": check_reference, "code": check_code, "minutes": check_minutes},
            subject_fields=("reference",),
            secret_fields=("code",),
            lifetime_field="minutes",
        ),
        TemplateSpec(
            name="anti_phishing_code_changed",
            subject=N_("Your anti-phishing code was changed"),
            required={"changed_at": check_changed_at, "requests_url": check_url},
            optional={"time_zone": (check_time_zone, "UTC")},
        ),
        TemplateSpec(
            name="agent_email_changed",
            subject=N_("The sign-in email of your agent account was changed"),
            required={
                "old_email": check_address_text,
                "new_email": check_address_text,
                "changed_by": check_person_name,
                "changed_at": check_changed_at,
                "recipient": check_old_or_new,
            },
            optional={"time_zone": (check_time_zone, "UTC")},
        ),
        TemplateSpec(
            name="recovery_received",
            subject=N_("We received your account recovery request (%(reference)s)"),
            required={"reference": check_reference, "purge_days": check_days, "requests_url": check_url},
            subject_fields=("reference",),
        ),
        TemplateSpec(
            name="recovery_decided",
            subject=N_("The decision on your account recovery request (%(reference)s)"),
            required={
                "reference": check_reference,
                "outcome": check_recovery_outcome,
                "reason": check_recovery_text,
                "purge_days": check_days,
                "requests_url": check_url,
            },
            # `hold_until` arrives already worded in the customer's language and time zone.
            optional={
                "hold_reason": (check_optional_recovery_text, None),
                "hold_until": (check_optional_text, None),
            },
            subject_fields=("reference",),
        ),
        TemplateSpec(
            name="callback_scheduled",
            subject=N_("We will call you back (%(reference)s)"),
            # `window` arrives already worded in the customer's language and time zone.
            required={
                "reference": check_reference,
                "window": check_text,
                "official_number": check_e164,
                "number_ending": check_last_digits,
            },
            subject_fields=("reference",),
        ),
        TemplateSpec(
            name="request_received",
            subject=N_("We received your request: %(subject)s"),
            required={
                "reference": check_reference,
                "subject": check_text,
                "first_response_due": check_optional_datetime,
                "requests_url": check_url,
            },
            optional={"time_zone": (check_time_zone, "UTC")},
            subject_fields=("subject",),
        ),
    )
}


def get_spec(name: str) -> TemplateSpec:
    """The registered template called `name`; ValueError if there is none."""
    spec = TEMPLATES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"no email template called {name!r}")
    return spec


def check_anti_phishing_code(value: str | None) -> str | None:
    """The customer's anti-phishing code (1..40 printable characters on one line), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ANTI_PHISHING_LENGTH:
        raise ValueError(f"an anti-phishing code is 1..{MAX_ANTI_PHISHING_LENGTH} characters")
    if not value.isprintable() or value != value.strip():
        raise ValueError("an anti-phishing code is printable text without surrounding spaces")
    return value
