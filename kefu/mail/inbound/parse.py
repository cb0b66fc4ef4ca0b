"""parse_email: raw RFC 5322 bytes → ParsedEmail. Never raises; defects become problem codes.

The raw bytes are kept by the caller (see kefu.mail.inbound.raw), so whatever this parser cannot
read, cut by a limit or distrusts is still there for an agent: `ParsedEmail.needs_review` says when
ingest should flag the conversation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Final

import structlog

from kefu.mail.inbound.addresses import Mailbox, parse_address_list
from kefu.mail.inbound.body import Body, collect_body
from kefu.mail.inbound.charsets import codec_for
from kefu.mail.inbound.encoded_words import clean_line, decode_unstructured, decode_words, header_bytes_to_str
from kefu.mail.inbound.headers import normalize_newlines
from kefu.mail.inbound.htmltext import sanitize_html, sanitized_to_text, strip_tags, too_complex
from kefu.mail.inbound.limits import DEFAULT_LIMITS, ParseLimits, Problem, Problems
from kefu.mail.inbound.mime import Budget, Entity, decoded_body, parse_entity
from kefu.mail.inbound.quotes import is_forward, strip_quotes_and_signature, strip_signature
from kefu.mail.inbound.reports import Envelope, classify, delivery_report
from kefu.mail.inbound.results import AutoKind, DeliveryReport, ParsedAttachment, ParsedEmail

__all__ = [
    "DEFAULT_LIMITS",
    "AutoKind",
    "DeliveryReport",
    "ParseLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "Problem",
    "parse_email",
]

log = structlog.get_logger(__name__)

MAX_SUBJECT_CHARS: Final = 300
MAX_INFO_CHARS: Final = 300
MAX_IDS: Final = 50
MAX_MESSAGE_ID_CHARS: Final = 250
_ID_TOKEN_RE: Final = re.compile(r"<[!-;=?-~]{1,250}>")
_BARE_ID_RE: Final = re.compile(r"[!-;=?-~]{1,248}@[!-;=?-~]{1,248}")
_CHARSET_HINT_RE: Final = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
# Headers an agent may want to see, as (field, label); values are cleaned to one line.
_INFO_HEADERS: Final = (
    ("x-mailer", "X-Mailer"),
    ("user-agent", "User-Agent"),
    ("sender", "Sender"),
    ("return-path", "Return-Path"),
    ("x-originating-ip", "X-Originating-IP"),
    ("authentication-results", "Authentication-Results"),
    ("auto-submitted", "Auto-Submitted"),
    ("precedence", "Precedence"),
    ("list-id", "List-Id"),
    ("x-loop", "X-Loop"),
    ("x-spam-flag", "X-Spam-Flag"),
)


def parse_email(raw: bytes, *, limits: ParseLimits = DEFAULT_LIMITS) -> ParsedEmail:
    """Parse one inbound message; never raises, whatever `raw` holds.

    Limits bound the work (see ParseLimits); past one, parsing stops descending, records a problem
    and keeps what it has. An internal failure yields an empty message with `parser_error`.
    """
    problems = Problems()
    try:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise TypeError(f"expected bytes, got {type(raw).__name__}")
        return _parse(bytes(raw), limits, problems)
    except Exception as exc:  # noqa: BLE001 — the contract: a message always becomes a conversation
        problems.add(Problem.PARSER_ERROR)
        size = len(raw) if isinstance(raw, bytes | bytearray | memoryview) else -1
        # The type of failure and the size only: message content never reaches logs.
        log.warning("mail.inbound.parser_error", error=type(exc).__name__, size=size)
        return _unreadable(problems)


def _unreadable(problems: Problems) -> ParsedEmail:
    return ParsedEmail(
        message_id=None,
        in_reply_to=(),
        references=(),
        from_address=None,
        from_name="",
        reply_to=None,
        to=(),
        cc=(),
        subject="",
        date=None,
        text="",
        visible_text="",
        html=None,
        attachments=(),
        auto=None,
        report=None,
        problems=problems.as_tuple(),
        headers=MappingProxyType({}),
    )


def _parse(raw: bytes, limits: ParseLimits, problems: Problems) -> ParsedEmail:
    if len(raw) > limits.max_bytes:
        problems.add(Problem.MESSAGE_TOO_LARGE)
        cut = raw.rfind(b"\n", 0, limits.max_bytes)
        raw = raw[: cut + 1 if cut > 0 else limits.max_bytes]
    data, newline_problems = normalize_newlines(raw)
    problems.extend(newline_problems)
    if b"\x00" in data:
        problems.add(Problem.NUL_BYTES)
    hint_match = _CHARSET_HINT_RE.search(data, 0, 65536)
    hint = codec_for(hint_match.group(1).decode("ascii")) if hint_match else None
    budget = Budget(limits, problems)
    root = parse_entity(data, budget, charset_hint=hint)

    from_mailbox = _sender(root, hint, problems)
    subject = _subject(root, hint, problems)
    body = collect_body(root, budget)
    text, html = _text_and_html(body, budget)
    if not text.strip() and body.nested:
        text = _nested_text(body.nested[0], budget)
    if len(text) > limits.max_text_chars:
        problems.add(Problem.TEXT_TRUNCATED)
        text = text[: limits.max_text_chars]
    visible = strip_signature(text) if is_forward(subject) else strip_quotes_and_signature(text)

    from_address = from_mailbox.address if from_mailbox else None
    from_name = from_mailbox.name if from_mailbox else ""
    envelope = Envelope(from_address, from_name, subject, text)
    report: DeliveryReport | None = delivery_report(root, budget, envelope)
    auto: AutoKind | None = classify(root, envelope, report)
    reply_to = [box.address for box in _mailboxes(root, "reply-to", hint, problems) if box.address]
    attachments: tuple[ParsedAttachment, ...] = tuple(body.attachments)
    return ParsedEmail(
        message_id=_message_id(root, problems),
        in_reply_to=_id_list(root, "in-reply-to"),
        references=_id_list(root, "references"),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to[0] if reply_to else None,
        to=_address_tuple(root, "to", hint, problems),
        cc=_address_tuple(root, "cc", hint, problems),
        subject=subject,
        date=_date(root, problems),
        text=text,
        visible_text=visible,
        html=html,
        attachments=attachments,
        auto=auto,
        report=report,
        problems=problems.as_tuple(),
        headers=MappingProxyType(_info_headers(root)),
    )


def _text_and_html(body: Body, budget: Budget) -> tuple[str, str | None]:
    """(text, sanitised HTML): text from the plain parts, else converted from the HTML parts."""
    limits = budget.limits
    plain = "\n\n".join(part.strip("\n") for part in body.plain if part.strip())
    if not body.html:
        return plain, None
    source = "\n<hr>\n".join(body.html)
    if len(source) > limits.max_html_chars:
        budget.problems.add(Problem.HTML_TRUNCATED)
        source = source[: limits.max_html_chars]
    if too_complex(source):
        budget.problems.add(Problem.HTML_TOO_COMPLEX)
        return plain or strip_tags(source[: limits.max_text_chars]), None
    html = sanitize_html(source)
    return plain or sanitized_to_text(html), html


def _nested_text(entity: Entity, budget: Budget) -> str:
    """The text of a forwarded message/rfc822 part, used when the outer message has none."""
    if entity.depth + 1 >= budget.limits.max_depth:
        budget.problems.add(Problem.TOO_DEEP)
        return ""
    data = decoded_body(entity, budget)
    if not data:
        return ""
    normalized, _ = normalize_newlines(data)
    inner = parse_entity(normalized, budget, depth=entity.depth + 1, charset_hint=entity.charset_hint)
    text, _ = _text_and_html(collect_body(inner, budget, with_attachments=False), budget)
    return text


def _mailboxes(root: Entity, name: str, hint: str | None, problems: Problems) -> list[Mailbox]:
    found: list[Mailbox] = []
    for value in root.headers.all(name):
        text, decode_problems = header_bytes_to_str(value, hint)
        problems.extend(decode_problems)
        mailboxes, list_problems = parse_address_list(text)
        problems.extend(list_problems)
        found.extend(mailboxes)
    return found


def _address_tuple(root: Entity, name: str, hint: str | None, problems: Problems) -> tuple[str, ...]:
    addresses = (box.address for box in _mailboxes(root, name, hint, problems) if box.address)
    return tuple(dict.fromkeys(addresses))[:100]


def _sender(root: Entity, hint: str | None, problems: Problems) -> Mailbox | None:
    """The one From mailbox, or None (`missing_from`, `multiple_from`, `ambiguous_from`)."""
    values = root.headers.all("from")
    if not values:
        problems.add(Problem.MISSING_FROM)
        return None
    if len(values) > 1:
        problems.add(Problem.MULTIPLE_FROM)
        return None
    text, decode_problems = header_bytes_to_str(values[0], hint)
    problems.extend(decode_problems)
    mailboxes, list_problems = parse_address_list(text)
    problems.extend(list_problems)
    if not mailboxes:
        problems.add(Problem.MISSING_FROM)
        return None
    if len(mailboxes) > 1:
        problems.add(Problem.MULTIPLE_FROM)
        return None
    mailbox = mailboxes[0]
    if mailbox.ambiguous:
        problems.add(Problem.AMBIGUOUS_FROM)
        return Mailbox(name=mailbox.name, address=None, ambiguous=True)
    if mailbox.address is None and "=?" in text:
        # Some broken mailers encode the whole "Name <addr>"; accepted only when that yields one.
        decoded, _ = decode_words(text)
        retry, _ = parse_address_list(decoded)
        if len(retry) == 1 and retry[0].address and not retry[0].ambiguous:
            problems.add(Problem.ENCODED_ADDRESS)
            return retry[0]
    return mailbox


def _subject(root: Entity, hint: str | None, problems: Problems) -> str:
    value = root.headers.first("subject")
    if value is None:
        return ""
    text, decode_problems = header_bytes_to_str(value, hint)
    problems.extend(decode_problems)
    subject, word_problems = decode_unstructured(text, MAX_SUBJECT_CHARS)
    problems.extend(word_problems)
    return subject


def _date(root: Entity, problems: Problems) -> datetime | None:
    value = root.headers.first("date")
    if value is None:
        problems.add(Problem.MISSING_DATE)
        return None
    try:
        parsed = parsedate_to_datetime(value[:200].decode("ascii", "replace"))
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.add(Problem.BAD_DATE)
        return None
    # "-0000" (zone unknown) comes back naive: RFC 5322 says the time is still UTC.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _message_id(root: Entity, problems: Problems) -> str | None:
    value = root.headers.first("message-id")
    if value is None:
        return None
    text = value.decode("ascii", "replace")
    match = _ID_TOKEN_RE.search(text)
    if match:
        return match.group()
    bare = _BARE_ID_RE.fullmatch(text.strip())
    if bare:
        return f"<{bare.group()}>"
    problems.add(Problem.BAD_MESSAGE_ID)
    return None


def _id_list(root: Entity, name: str) -> tuple[str, ...]:
    tokens: list[str] = []
    for value in root.headers.all(name):
        tokens.extend(_ID_TOKEN_RE.findall(value.decode("ascii", "replace")))
    unique = list(dict.fromkeys(tokens))
    # Threading needs the root (first) and the most recent (last) ids.
    return tuple(unique if len(unique) <= MAX_IDS else [unique[0], *unique[-(MAX_IDS - 1) :]])


def _info_headers(root: Entity) -> dict[str, str]:
    info = {"Received-Count": str(root.headers.received_count)}
    for name, label in _INFO_HEADERS:
        value = root.header_text(name)
        if value:
            info[label] = clean_line(value, MAX_INFO_CHARS)
    return info
