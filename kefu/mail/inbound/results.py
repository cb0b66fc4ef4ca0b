"""What the inbound parser hands to ingest: plain frozen values, no email.message objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kefu.mail.inbound.limits import Problem


@dataclass(frozen=True)
class ParsedAttachment:
    """One attachment or inline image, decoded; the file pipeline sniffs its real type before storing."""

    filename: str  # sanitised, never empty ("attachment-1.bin" fallback), no path parts
    content_type: str  # as declared (lower-case)
    data: bytes
    inline: bool
    content_id: str | None  # without the angle brackets


class AutoKind(StrEnum):
    """Why a message must never be answered automatically."""

    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    MAILING_LIST = "mailing_list"
    BULK = "bulk"


@dataclass(frozen=True)
class DeliveryReport:
    """A DSN (multipart/report; report-type=delivery-status) or a classic bounce about a message we sent."""

    original_message_id: str | None
    recipients: tuple[str, ...]
    action: str  # "failed", "delayed", "delivered", "relayed", "expanded"
    status: str | None  # "5.1.1"
    diagnostic: str | None


# Problems after which an agent should look at the raw message before trusting the parsed one.
_REVIEW_PROBLEMS = frozenset(
    {
        Problem.PARSER_ERROR,
        Problem.MISSING_FROM,
        Problem.MULTIPLE_FROM,
        Problem.AMBIGUOUS_FROM,
        Problem.ENCODED_ADDRESS,
        Problem.MESSAGE_TOO_LARGE,
        Problem.TOO_MANY_PARTS,
        Problem.TOO_DEEP,
        Problem.PART_TOO_LARGE,
        Problem.TOTAL_TOO_LARGE,
        Problem.HTML_TOO_COMPLEX,
    }
)


@dataclass(frozen=True)
class ParsedEmail:
    """One inbound message as ingest and threading need it; every text field is safe to display."""

    message_id: str | None  # normalised "<...>"
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None  # one lower-cased addr-spec; None when missing or ambiguous
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None  # tz-aware UTC
    text: str
    visible_text: str
    html: str | None  # sanitised, see kefu.mail.inbound.htmltext.sanitize_html for the policy
    attachments: tuple[ParsedAttachment, ...]
    auto: AutoKind | None
    report: DeliveryReport | None
    problems: tuple[str, ...]
    headers: Mapping[str, str]

    @property
    def needs_review(self) -> bool:
        """True when the sender is unknown, nothing readable came out, or a limit or error cut parsing:
        ingest flags such a conversation for an agent and shows the raw message.
        """
        if self.from_address is None or not (self.text.strip() or self.attachments):
            return True
        return any(problem in _REVIEW_PROBLEMS for problem in self.problems)
