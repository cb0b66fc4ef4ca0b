"""Turn a rendered email into a MIME message: multipart/alternative (text, then HTML), safe headers.

Every header value is either ours (settings, Message-IDs we derived) or passed through
`headers.one_line` / `headers.clean_address` first; the strict policy refuses CR/LF regardless.
"""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Final

from kefu.mail.headers import check_message_id, clean_address, one_line, parse_mailbox
from kefu.mail.render import Rendered
from kefu.settings import Settings

# 7bit: every body is quoted-printable or base64, so no relay re-encodes it and breaks the DKIM body hash.
POLICY: Final = email.policy.SMTP.clone(cte_type="7bit", raise_on_defect=True)
MAX_REFERENCES: Final = 20
MAX_SUBJECT_LENGTH: Final = 250


def subject_with_reference(subject: str, reference: str | None) -> str:
    """`subject` on one line, with " [KF-…]" appended so replies thread into the conversation."""
    line = one_line(subject, MAX_SUBJECT_LENGTH)
    return f"{line} [{reference}]" if reference else line


def compose(
    settings: Settings,
    rendered: Rendered,
    *,
    to: str,
    message_id: str,
    sent_at: datetime,
    reference: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = True,
) -> EmailMessage:
    """The message for one recipient; ValueError for a bad address, Message-ID or naive `sent_at`."""
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be tz-aware")
    if len(references) > MAX_REFERENCES:
        raise ValueError(f"at most {MAX_REFERENCES} references")
    message = EmailMessage(policy=POLICY)
    message["From"] = parse_mailbox(settings.mail_from)
    local, _, domain = clean_address(to).rpartition("@")
    message["To"] = Address(username=local, domain=domain)
    if settings.mail_reply_to:
        message["Reply-To"] = parse_mailbox(settings.mail_reply_to)
    message["Subject"] = subject_with_reference(rendered.subject, reference)
    message["Date"] = email.utils.format_datetime(sent_at)
    message["Message-ID"] = check_message_id(message_id)
    if in_reply_to:
        message["In-Reply-To"] = check_message_id(in_reply_to)
    if references:
        message["References"] = " ".join(check_message_id(value) for value in references)
    if automatic:
        message["Auto-Submitted"] = "auto-generated"
        # Exchange/Outlook honour this instead of RFC 3834: no out-of-office answers into our inbox.
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = rendered.locale  # after set_content, which clears Content-* headers
    return message
