"""Header hygiene: nothing a customer typed can add a header line, a recipient or a malformed address."""

from __future__ import annotations

import email.policy
import re
import unicodedata
from email.headerregistry import Address
from typing import Final

from email_validator import EmailNotValidError, validate_email

from kefu.settings import Settings

MAX_ADDRESS_LENGTH: Final = 254
MAX_MESSAGE_ID_LENGTH: Final = 250
# One Message-ID as RFC 5322 writes it: <left@right>, no spaces, quotes or nested brackets.
_MESSAGE_ID_RE: Final = re.compile(r"<[!#-'*+\-/-9=?A-Z^-~.]+@[!#-'*+\-/-9=?A-Z^-~.\[\]]+>")
# Demo customers live under *.localhost (DESIGN.md); email_validator refuses that special-use name,
# so it is checked as if it were *.test, as kefu.auth.actions.clean_email does.
_LOCALHOST_SUFFIX: Final = ".localhost"


def one_line(text: str, limit: int) -> str:
    """`text` on one line: every control or separator character becomes a space, runs of spaces one,
    and the result is cut to `limit` characters (with "…"). For user text bound for a header.
    """
    spaced = "".join(" " if _is_break(char) else char for char in text)
    folded = " ".join(spaced.split())
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"


def _is_break(char: str) -> bool:
    # Cc: CR, LF, NUL, ESC…; Cf: bidi overrides; Zl/Zp: U+2028/2029, which some clients treat as newlines.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def clean_address(value: str) -> str:
    """One plain recipient address (`user@example.com`, IDN domains in ASCII); ValueError otherwise.

    Display names, lists, comments and any control character are refused, so the value cannot name
    a second recipient or start a header line.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_ADDRESS_LENGTH:
        raise ValueError("a recipient is one address of at most 254 characters")
    if any(_is_break(char) for char in value) or value != value.strip():
        raise ValueError("the recipient address contains control characters or spaces")
    demo = value.lower().endswith(_LOCALHOST_SUFFIX)
    checked = value[: -len(_LOCALHOST_SUFFIX)] + ".test" if demo else value
    try:
        result = validate_email(
            checked, check_deliverability=False, test_environment=True, allow_smtputf8=False
        )
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid recipient address: {exc}") from None
    domain = result.ascii_domain.lower()
    if demo:
        domain = domain.removesuffix(".test") + _LOCALHOST_SUFFIX
    return f"{result.local_part}@{domain}"


def check_message_id(value: str) -> str:
    """`value` if it is exactly one `<left@right>` Message-ID; ValueError otherwise."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_MESSAGE_ID_LENGTH
        or not _MESSAGE_ID_RE.fullmatch(value)
    ):
        raise ValueError("not a Message-ID of the form <id@domain>")
    return value


def parse_mailbox(value: str) -> Address:
    """The single address of a configured From/Reply-To value (settings validated it at start-up)."""
    header = email.policy.SMTP.header_factory("From", value)
    if header.defects or len(header.addresses) != 1:
        raise ValueError(f"not one address: {value!r}")
    address: Address = header.addresses[0]
    return address


def mail_domain(settings: Settings) -> str:
    """The domain of Message-IDs: `mail_domain`, else the From address's domain."""
    return settings.mail_domain or parse_mailbox(settings.mail_from).domain.lower()
