"""Mail Kefu must never answer: auto-replies, bounces, list and bulk mail; and what a bounce says
about a message we sent (RFC 3464 DSNs and the free-form bounces many servers still send).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from kefu.mail.inbound.addresses import normalize_addr_spec, parse_address_list
from kefu.mail.inbound.encoded_words import clean_line, header_bytes_to_str
from kefu.mail.inbound.headers import normalize_newlines, split_entity
from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.mime import Budget, Entity, decoded_body
from kefu.mail.inbound.results import AutoKind, DeliveryReport

MAX_RECIPIENTS: Final = 50
MAX_DIAGNOSTIC_CHARS: Final = 500
_ACTION_ORDER: Final = ("failed", "delayed", "delivered", "relayed", "expanded")
_STATUS_RE: Final = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_LINE_RE: Final = re.compile(r"^.{0,200}\b[45]\d\d[ -].{0,300}$", re.MULTILINE)
_MESSAGE_ID_RE: Final = re.compile(r"^message-id:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_ID_TOKEN_RE: Final = re.compile(r"<[^<>\s]{1,250}>")
_DAEMONS: Final = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "bounce", "bounces"}
)
_DAEMON_NAMES_RE: Final = re.compile(r"^(mail delivery (sub)?system|mail administrator|系统退信)", re.I)
_BOUNCE_SUBJECT_RE: Final = re.compile(
    r"^(undeliver|undelivered mail|delivery status notification|mail delivery failed|delivery failure|"
    r"returned mail|failure notice|mail system error|delivery has failed|could not be delivered|"
    r"退信|系统退信|投递失败|邮件投递失败|发送失败|无法投递|未能送达)",
    re.IGNORECASE,
)
_DELAY_RE: Final = re.compile(r"(delay|will (be )?retr|still trying|延迟|延时)", re.IGNORECASE)
_AUTO_SUBJECT_RE: Final = re.compile(
    r"^(auto:|automatic reply|auto[- ]?reply|autoreply|out of (the )?office|自动回复|自動回覆|自动答复)",
    re.IGNORECASE,
)
_SUPPRESS_RE: Final = re.compile(r"\b(all|oof|autoreply)\b", re.IGNORECASE)
# Where a free-form bounce starts quoting the returned message: addresses below it are not failures.
_COPY_MARKER_RE: Final = re.compile(
    r"^.{0,40}(below this line|copy of the (original )?message|original message (follows|headers)|"
    r"undelivered message|message follows|returned message|原始邮件|原邮件|退回的邮件).{0,40}$",
    re.IGNORECASE | re.MULTILINE,
)
_ADDRESS_RE: Final = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")


@dataclass(frozen=True)
class Envelope:
    """The parsed facts classification needs from the top-level message."""

    from_address: str | None
    from_name: str
    subject: str
    text: str


def _field(root: Entity, name: str) -> str | None:
    value = root.header_text(name)
    return None if value is None else value.strip()


def classify(root: Entity, envelope: Envelope, report: DeliveryReport | None) -> AutoKind | None:
    """Why this message must not be answered automatically (RFC 3834 and common practice), or None."""
    report_type = (
        root.params.get("report-type", "").lower() if root.content_type == "multipart/report" else ""
    )
    if report is not None or report_type == "delivery-status":
        return AutoKind.BOUNCE
    auto_submitted = (_field(root, "auto-submitted") or "no").lower()
    precedence = (_field(root, "precedence") or "").lower()
    if (
        not auto_submitted.startswith("no")
        or report_type in ("disposition-notification", "feedback-report")
        or any(
            root.headers.first(name) is not None for name in ("x-autoreply", "x-autorespond", "x-auto-reply")
        )
        or _SUPPRESS_RE.search(_field(root, "x-auto-response-suppress") or "")
        or root.headers.first("x-loop") is not None
        or precedence == "auto_reply"
        or _AUTO_SUBJECT_RE.match(envelope.subject)
    ):
        return AutoKind.AUTO_REPLY
    if precedence == "list" or any(
        root.headers.first(name) is not None for name in ("list-id", "list-post", "mailing-list")
    ):
        return AutoKind.MAILING_LIST
    if precedence in ("bulk", "junk") or root.headers.first("list-unsubscribe") is not None:
        return AutoKind.BULK
    if _field(root, "return-path") == "<>":
        # A null reverse path: only machines send it (RFC 5321 §4.5.5).
        return AutoKind.AUTO_REPLY
    return None


def delivery_report(root: Entity, budget: Budget, envelope: Envelope) -> DeliveryReport | None:
    """The DSN of a multipart/report, else a classic bounce recognised by sender and subject."""
    for entity in root.walk():
        if entity.content_type == "multipart/report":
            report_type = entity.params.get("report-type", "").lower()
            if report_type == "delivery-status":
                report = _dsn(entity, budget)
                if report is not None:
                    return report
    return _classic_bounce(root, budget, envelope)


def _fields_blocks(text: str) -> list[dict[str, str]]:
    """The "Name: value" blocks of a message/delivery-status body, continuation lines joined."""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n[ \t]*\n", text)[: MAX_RECIPIENTS + 1]:
        fields: dict[str, str] = {}
        name: str | None = None
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and name is not None:
                fields[name] += " " + line.strip()
                continue
            key, sep, value = line.partition(":")
            if sep and key.strip():
                name = key.strip().lower()
                fields.setdefault(name, value.strip())
        if fields:
            blocks.append(fields)
    return blocks


def _after_type(value: str) -> str:
    """The value without its address-type prefix: `rfc822; user@example.com` → `user@example.com`."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def _dsn(report: Entity, budget: Budget) -> DeliveryReport | None:
    status_part = next(
        (
            child
            for child in report.children
            if child.content_type in ("message/delivery-status", "message/global-delivery-status")
        ),
        None,
    )
    if status_part is None:
        budget.problems.add(Problem.BAD_DELIVERY_STATUS)
        return None
    data = decoded_body(status_part, budget) or b""
    text, _ = header_bytes_to_str(data[:65536], "utf-8")
    recipients: list[tuple[str, str, str | None, str | None]] = []
    for fields in _fields_blocks(text)[1:]:
        recipient = fields.get("final-recipient") or fields.get("original-recipient")
        if not recipient:
            continue
        action = fields.get("action", "").split()[0].lower() if fields.get("action", "").split() else ""
        status = _STATUS_RE.search(fields.get("status", ""))
        diagnostic = _after_type(fields.get("diagnostic-code", "")) or None
        recipients.append(
            (
                _clean_recipient(_after_type(recipient)),
                action if action in _ACTION_ORDER else "failed",
                status.group(1) if status else None,
                clean_line(diagnostic, MAX_DIAGNOSTIC_CHARS) if diagnostic else None,
            )
        )
    if not recipients:
        budget.problems.add(Problem.BAD_DELIVERY_STATUS)
        return None
    action = min((entry[1] for entry in recipients), key=_ACTION_ORDER.index)
    chosen = [entry for entry in recipients if entry[1] == action]
    return DeliveryReport(
        original_message_id=_returned_message_id(report, budget),
        recipients=tuple(dict.fromkeys(entry[0] for entry in chosen))[:MAX_RECIPIENTS],
        action=action,
        status=chosen[0][2],
        diagnostic=chosen[0][3],
    )


def _clean_recipient(value: str) -> str:
    address, _ = normalize_addr_spec(value.strip("<>"))
    return address or clean_line(value, 254).lower()


def _returned_message_id(root: Entity, budget: Budget) -> str | None:
    """The Message-ID of the returned message or headers inside a bounce."""
    for entity in root.walk():
        if entity.content_type in ("message/rfc822", "message/global", "text/rfc822-headers"):
            data = decoded_body(entity, budget)
            if not data:
                continue
            normalized, _ = normalize_newlines(data[:262144])
            headers, _, _ = split_entity(normalized, budget.limits)
            value = headers.first("message-id")
            if value is not None:
                match = _ID_TOKEN_RE.search(value.decode("ascii", "replace"))
                if match:
                    return match.group()
    return None


def _is_daemon(envelope: Envelope) -> bool:
    local = (envelope.from_address or "").split("@")[0]
    return local in _DAEMONS or bool(_DAEMON_NAMES_RE.match(envelope.from_name))


def _classic_bounce(root: Entity, budget: Budget, envelope: Envelope) -> DeliveryReport | None:
    failed_header = _field(root, "x-failed-recipients")
    subject_says = bool(_BOUNCE_SUBJECT_RE.match(envelope.subject))
    null_sender = _field(root, "return-path") == "<>"
    if not (failed_header or _is_daemon(envelope) or (subject_says and null_sender)):
        return None
    if not (failed_header or subject_says):
        # A postmaster writing by hand is not a bounce.
        return None
    head = envelope.text[:20000]
    marker = _COPY_MARKER_RE.search(head)
    if marker:
        head = head[: marker.start()]
    recipients: list[str] = []
    if failed_header:
        mailboxes, _ = parse_address_list(failed_header)
        recipients = [box.address for box in mailboxes if box.address]
    if not recipients:
        candidates = (_clean_recipient(found) for found in _ADDRESS_RE.findall(head))
        recipients = [found for found in candidates if found != envelope.from_address]
    status = _STATUS_RE.search(head)
    diagnostic = _SMTP_LINE_RE.search(head)
    message_id = _returned_message_id(root, budget)
    if message_id is None:
        quoted = _MESSAGE_ID_RE.search(envelope.text[:200000])
        message_id = quoted.group(1) if quoted else None
    return DeliveryReport(
        original_message_id=message_id,
        recipients=tuple(dict.fromkeys(recipients))[:MAX_RECIPIENTS],
        action="delayed" if _DELAY_RE.search(envelope.subject) else "failed",
        status=status.group(1) if status else None,
        diagnostic=clean_line(diagnostic.group(), MAX_DIAGNOSTIC_CHARS) if diagnostic else None,
    )
